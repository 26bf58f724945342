using System.Diagnostics;
using System.Net.Sockets;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// A dashboard session lasts only as long as its key (removed or given another role in the keys file,
/// read again every second here) and at most its lifetime (20 s here); behind a known proxy that says
/// the request was HTTPS, its cookies are Secure.
/// </summary>
public sealed class DashboardSessionTests : SystemTestBase
{
    private const string FileAdminKey = "file-admin-key-5e2b7c9d1a";
    private const string FileGoneKey = "file-gone-key-3c8f1e6b2d";
    private const string Proxy = "127.0.0.2";
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(20);
    private static readonly string KeysFile = WriteKeys(Path.Combine(Path.GetTempPath(), $"scheduler-keys-{Guid.NewGuid():N}.json"),
        ("file-admin", FileAdminKey, "admin"), ("file-gone", FileGoneKey, "admin"));

    protected override bool StartsWorker => false;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Auth__KeysFile"] = KeysFile,
        ["Auth__KeysFileRefresh"] = "00:00:01",
        ["Auth__DashboardSessionLifetime"] = Lifetime.ToString(),
        ["ForwardedHeaders__KnownProxies__0"] = Proxy,
    };

    [OneTimeTearDown]
    public void DeleteKeysFile() => File.Delete(KeysFile);

    [Test]
    public async Task A_session_ends_when_its_key_is_removed_or_its_role_changes()
    {
        // Signed in first, so it would be the first to reach the lifetime: it shows the others did not.
        using var control = await DashboardBrowser.SignInAsync(Api.BaseAddress!, TestKeys.ReadOnly);
        using var demoted = await DashboardBrowser.SignInAsync(Api.BaseAddress!, FileAdminKey);
        using var removed = await DashboardBrowser.SignInAsync(Api.BaseAddress!, FileGoneKey);
        Assert.That(await demoted.IsSignedInAsync() && await removed.IsSignedInAsync(), Is.True);
        using var goneKey = CreateHttpClient(Api.BaseAddress!, FileGoneKey);
        Assert.That((await goneKey.GetAsync(new Uri("/schedules", UriKind.Relative))).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the file's keys work on the API");

        WriteKeys(KeysFile, ("file-admin", FileAdminKey, "read_only"));
        await Eventually.UntilAsync(async () => !await demoted.IsSignedInAsync() && !await removed.IsSignedInAsync(),
            Seconds(30), "both sessions to end");
        Assert.That(await control.IsSignedInAsync(), Is.True, "a session whose key did not change goes on");
        Assert.That(Api.Output, Does.Contain("Dashboard session of key file-gone ended: its key is no longer configured"));
        Assert.That(Api.Output, Does.Contain("Dashboard session of key file-admin ended: its key's role is now read_only"));

        Assert.That((await goneKey.GetAsync(new Uri("/schedules", UriKind.Relative))).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "a removed key no longer works on the API");
        using var demotedKey = CreateHttpClient(Api.BaseAddress!, FileAdminKey);
        Assert.That((await demotedKey.GetAsync(new Uri("/schedules", UriKind.Relative))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await demotedKey.PostAsync(new Uri("/schedules", UriKind.Relative), Json("{}"))).StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "the key is read-only now");
        using var again = await DashboardBrowser.SignInAsync(Api.BaseAddress!, FileAdminKey);
        Assert.That(await again.IsSignedInAsync(), Is.True, "the key may sign in again, with its new role");
    }

    [Test]
    public async Task A_session_in_constant_use_ends_at_its_lifetime()
    {
        var clock = Stopwatch.StartNew();
        using var admin = await DashboardBrowser.SignInAsync(Api.BaseAddress!, TestKeys.Admin);
        // Every poll uses the session, so the sliding expiry alone would keep it alive for hours.
        await Eventually.UntilAsync(async () => !await admin.IsSignedInAsync(), Lifetime + Seconds(30), "the session to end");
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(Lifetime), "not before its lifetime");
        Assert.That(Api.Output, Does.Contain($"Dashboard session of key tests-admin ended: it reached its lifetime ({Lifetime})"));
    }

    [Test]
    public async Task Cookies_are_secure_when_a_known_proxy_says_the_request_was_https()
    {
        var (antiforgery, session) = await SignInCookiesAsync(fromProxy: true, forwardedProto: "https");
        Assert.That(antiforgery, Does.StartWith("scheduler_csrf=").And.Contain("; secure"));
        Assert.That(session, Does.StartWith("scheduler_session=").And.Contain("; secure"));

        (antiforgery, session) = await SignInCookiesAsync(fromProxy: true, forwardedProto: null);
        Assert.That(antiforgery + session, Does.Not.Contain("secure"), "plain HTTP through the proxy");
        // Only the configured proxy is believed (it replaces the default, loopback).
        (antiforgery, session) = await SignInCookiesAsync(fromProxy: false, forwardedProto: "https");
        Assert.That(antiforgery + session, Does.Not.Contain("secure"), "X-Forwarded-Proto from a client that is not a known proxy");
    }

    /// <summary>
    /// Signs in the way a browser would, from <see cref="Proxy"/> or 127.0.0.1, and returns the two
    /// cookies as set. Cookies are handled by hand: a client would not send a Secure cookie back over HTTP.
    /// </summary>
    private async Task<(string Antiforgery, string Session)> SignInCookiesAsync(bool fromProxy, string? forwardedProto)
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false };
        if (fromProxy)
        {
            handler.ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(Proxy), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }
        using var http = CreateHttpClient(Api.BaseAddress!, key: null, handler);
        if (forwardedProto is not null)
        {
            http.DefaultRequestHeaders.Add("X-Forwarded-Proto", forwardedProto);
        }
        using var page = await http.GetAsync(new Uri("/login", UriKind.Relative));
        var antiforgery = page.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("scheduler_csrf=", StringComparison.Ordinal));
        var token = DashboardBrowser.FormToken(await page.Content.ReadAsStringAsync());
        using var signIn = new HttpRequestMessage(HttpMethod.Post, new Uri("/login", UriKind.Relative))
        {
            Content = DashboardBrowser.Form(("key", TestKeys.Admin), ("return_url", "/hangfire"), ("__RequestVerificationToken", token)),
        };
        signIn.Headers.Add("Cookie", antiforgery.Split(';')[0]);
        using var signedIn = await http.SendAsync(signIn);
        Assert.That(signedIn.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await signedIn.Content.ReadAsStringAsync());
        var session = signedIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("scheduler_session=", StringComparison.Ordinal));
        return (antiforgery, session);
    }

    /// <summary>Replaces the keys file in one step (a rename), as a Secret volume's update does.</summary>
    private static string WriteKeys(string path, params (string Name, string Key, string Role)[] keys)
    {
        var next = path + ".next";
        File.WriteAllText(next, System.Text.Json.JsonSerializer.Serialize(keys.Select(k => new { name = k.Name, key = k.Key, role = k.Role })));
        File.Move(next, path, overwrite: true);
        return path;
    }
}
