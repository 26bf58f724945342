using System.Text.RegularExpressions;

namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// What a browser does on the dashboard: keeps cookies, signs in on the sign-in form and sends back the
/// antiforgery token a page carries (Hangfire's <c>csrf-token</c> meta tag, the forms' hidden field).
/// </summary>
public sealed partial class DashboardBrowser : IDisposable
{
    private DashboardBrowser(Uri baseAddress, string? key)
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = Cookies, UseCookies = true };
        Http = SchedulerApiExtensions.CreateHttpClient(baseAddress, key, handler);
    }

    public HttpClient Http { get; }

    public CookieContainer Cookies { get; } = new();

    /// <summary>A browser without a session (or, with <paramref name="key"/>, a script sending an API key).</summary>
    public static DashboardBrowser Open(Uri baseAddress, string? key = null) => new(baseAddress, key);

    /// <summary>Signs in with <paramref name="key"/> and checks that the sign-in succeeded.</summary>
    public static async Task<DashboardBrowser> SignInAsync(Uri baseAddress, string key)
    {
        var browser = Open(baseAddress);
        using var response = await browser.SubmitSignInAsync(key, "/hangfire/jobs/enqueued");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
        Assert.That(response.Headers.Location!.ToString(), Is.EqualTo("/hangfire/jobs/enqueued"));
        return browser;
    }

    /// <summary>Fills in the sign-in form as served and submits it.</summary>
    public async Task<HttpResponseMessage> SubmitSignInAsync(string key, string returnUrl)
    {
        var token = await FormTokenAsync("/login");
        return await Http.PostAsync(new Uri("/login", UriKind.Relative), Form(("key", key), ("return_url", returnUrl), ("__RequestVerificationToken", token)));
    }

    /// <summary>Signs out with the sign-out page's form.</summary>
    public async Task<HttpResponseMessage> SignOutAsync()
    {
        var token = await FormTokenAsync("/logout");
        return await Http.PostAsync(new Uri("/logout", UriKind.Relative), Form(("__RequestVerificationToken", token)));
    }

    /// <summary>A dashboard POST as the dashboard's own scripts send it: the page's token in its header.</summary>
    public async Task<HttpResponseMessage> PostWithTokenAsync(string path, params (string Key, string Value)[] fields)
    {
        var page = await Http.GetStringAsync(new Uri("/hangfire", UriKind.Relative));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = Form(fields) };
        request.Headers.Add(Meta(page, "csrf-header"), Meta(page, "csrf-token"));
        return await Http.SendAsync(request);
    }

    /// <summary>Whether the session lets this browser see the dashboard (rather than sending it to sign in).</summary>
    public async Task<bool> IsSignedInAsync()
    {
        using var response = await Http.GetAsync(new Uri("/hangfire", UriKind.Relative));
        if (response.StatusCode == HttpStatusCode.OK)
        {
            return true;
        }
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "GET /hangfire");
        Assert.That(response.Headers.Location!.AbsolutePath, Is.EqualTo("/login"), "GET /hangfire");
        return false;
    }

    public static FormUrlEncodedContent Form(params (string Key, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));

    public void Dispose() => Http.Dispose();

    private async Task<string> FormTokenAsync(string page)
    {
        var html = await Http.GetStringAsync(new Uri(page, UriKind.Relative));
        // As served: a form without the field is submitted without it (the server decides).
        return FormToken(html);
    }

    /// <summary>The antiforgery token in a sign-in or sign-out form ("" when there is none).</summary>
    public static string FormToken(string html) => WebUtility.HtmlDecode(FormTokenPattern().Match(html).Groups[1].Value);

    private static string Meta(string page, string name)
    {
        var match = Regex.Match(page, $"<meta name=\"{name}\" content=\"([^\"]+)\"", RegexOptions.None, TimeSpan.FromSeconds(1));
        Assert.That(match.Success, Is.True, $"the dashboard page carries {name}");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex FormTokenPattern();
}
