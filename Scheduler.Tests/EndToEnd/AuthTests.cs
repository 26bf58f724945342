using System.Text;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// API keys on every endpoint (taken from the OpenAPI document, so a new endpoint is covered the day it
/// appears), read-only keys that cannot write, and a dashboard that needs a sign-in.
/// </summary>
public sealed class AuthTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    private static readonly string[] OpenPaths = ["/health", "/health/live", "/health/ready"];

    // Authorised by a run attempt's completion token instead of an API key (CompletionCallbackTests): no key,
    // a wrong key or a wrong token is a 401 as anywhere, but a read-only key is no credential of theirs.
    private static readonly string[] TokenPaths = ["/runs/{id}/complete", "/runs/{id}/heartbeat"];

    [Test]
    public async Task Every_endpoint_answers_401_problem_details_without_a_key_or_with_a_wrong_one()
    {
        var endpoints = await EndpointsAsync();
        Assert.That(endpoints, Has.Count.GreaterThan(20), "the OpenAPI document lists the endpoints");
        using var anonymous = CreateHttpClient(Api.BaseAddress!, key: null);
        using var wrong = CreateHttpClient(Api.BaseAddress!, key: "not-a-key-of-this-server");
        using var bearerWrong = CreateHttpClient(Api.BaseAddress!, key: null);
        bearerWrong.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "also-not-a-key-of-this-server");
        var before = await TestDatabase.CountsAsync();
        foreach (var (method, path) in endpoints.Where(e => !OpenPaths.Contains(e.Path)))
        {
            foreach (var client in new[] { anonymous, wrong, bearerWrong })
            {
                using var response = await client.SendAsync(Request(method, path));
                var body = await response.Content.ReadAsStringAsync();
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), $"{method} {path}: {body}");
                Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), $"{method} {path}");
                Assert.That(JsonNode.Parse(body)!["status"]!.GetValue<int>(), Is.EqualTo(401));
                Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
            }
        }
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo(before), "nothing written");
    }

    [Test]
    public async Task Health_endpoints_stay_open_and_say_nothing_sensitive()
    {
        using var anonymous = CreateHttpClient(Api.BaseAddress!, key: null);
        foreach (var path in OpenPaths)
        {
            using var response = await anonymous.GetAsync(new Uri(path, UriKind.Relative));
            var body = await response.Content.ReadAsStringAsync();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), path);
            Assert.That(body, Does.Not.Contain("Host=").And.Not.Contain("postgres").And.Not.Contain(TestKeys.Admin), path);
        }
    }

    [Test]
    public async Task A_read_only_key_reads_everything_and_writes_nothing()
    {
        var scheduleId = await Client.CreateScheduleAsync($$$"""{"schedule_type": "ONCE", "run_at": "+1d", "target": {"url": "{{{Target.Url("/x")}}}"}}""");
        using var reader = CreateHttpClient(Api.BaseAddress!, TestKeys.ReadOnly);
        var before = await TestDatabase.CountsAsync();
        var endpoints = await EndpointsAsync();
        foreach (var (method, path) in endpoints.Where(e => !OpenPaths.Contains(e.Path) && !TokenPaths.Contains(e.Path)))
        {
            using var response = await reader.SendAsync(Request(method, path.Replace("{id}", scheduleId.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)));
            var body = await response.Content.ReadAsStringAsync();
            if (method == HttpMethod.Get)
            {
                Assert.That(response.StatusCode, Is.Not.EqualTo(HttpStatusCode.Unauthorized).And.Not.EqualTo(HttpStatusCode.Forbidden), $"GET {path}: {body}");
            }
            else
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), $"{method} {path}: {body}");
                Assert.That(JsonNode.Parse(body)!["detail"]!.GetValue<string>(), Does.Contain("read_only"));
            }
        }
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo(before), "a read-only key changed nothing");
    }

    [Test]
    public async Task The_dashboard_is_not_served_without_a_sign_in_and_a_read_only_session_cannot_requeue_or_delete()
    {
        // Local requests get no exception: without a session the dashboard sends the browser to sign in.
        using (var anonymous = DashboardBrowser.Open(Api.BaseAddress!))
        {
            foreach (var page in new[] { "/hangfire", "/hangfire/jobs/succeeded", "/hangfire/recurring" })
            {
                using var response = await anonymous.Http.GetAsync(new Uri(page, UriKind.Relative));
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), page);
                Assert.That(response.Headers.Location!.ToString(), Does.StartWith($"{Api.BaseAddress!.GetLeftPart(UriPartial.Authority)}/login?ReturnUrl="));
                Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain("Hangfire"));
            }
            using var wrongKey = await anonymous.SubmitSignInAsync("not-a-key-of-this-server", "/hangfire");
            Assert.That(wrongKey.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }

        var scheduleId = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/x")}}}"}}""");
        var jobId = await TestDatabase.JobOfLatestRunAsync(scheduleId);
        using var reader = await DashboardBrowser.SignInAsync(Api.BaseAddress!, TestKeys.ReadOnly);
        var jobsPage = await reader.Http.GetStringAsync(new Uri("/hangfire/jobs/enqueued", UriKind.Relative));
        Assert.That(jobsPage, Does.Contain($"schedule #{scheduleId}"), "a read-only session sees the jobs");
        using (var delete = await reader.PostWithTokenAsync("/hangfire/jobs/enqueued/delete", ("jobs[]", jobId)))
        {
            Assert.That(delete.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        }
        using (var requeue = await reader.PostWithTokenAsync("/hangfire/jobs/enqueued/requeue", ("jobs[]", jobId)))
        {
            Assert.That(requeue.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        }
        Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT statename FROM hangfire.job WHERE id = {jobId}"), Is.EqualTo("Enqueued"), "the job was not touched");

        using var admin = await DashboardBrowser.SignInAsync(Api.BaseAddress!, TestKeys.Admin);
        using (var delete = await admin.PostWithTokenAsync("/hangfire/jobs/enqueued/delete", ("jobs[]", jobId)))
        {
            Assert.That(delete.StatusCode, Is.EqualTo(HttpStatusCode.NoContent).Or.EqualTo(HttpStatusCode.OK));
        }
        Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT statename FROM hangfire.job WHERE id = {jobId}"), Is.EqualTo("Deleted"), "an admin session may delete");
    }

    [Test]
    public async Task A_dashboard_post_without_the_pages_antiforgery_token_is_refused_even_for_an_admin_session()
    {
        var scheduleId = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/x")}}}"}}""");
        var jobId = await TestDatabase.JobOfLatestRunAsync(scheduleId);
        using var admin = await DashboardBrowser.SignInAsync(Api.BaseAddress!, TestKeys.Admin);
        Assert.That(await admin.IsSignedInAsync(), Is.True);
        // What a page on another site can make the browser send: the session cookie, but no token.
        foreach (var path in new[] { "/hangfire/jobs/enqueued/delete", "/hangfire/jobs/enqueued/requeue" })
        {
            using var forged = await admin.Http.PostAsync(new Uri(path, UriKind.Relative), DashboardBrowser.Form(("jobs[]", jobId)));
            Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), path);
        }
        using (var wrongToken = new HttpRequestMessage(HttpMethod.Post, new Uri("/hangfire/jobs/enqueued/delete", UriKind.Relative)) { Content = DashboardBrowser.Form(("jobs[]", jobId)) })
        {
            wrongToken.Headers.Add("RequestVerificationToken", "not-a-token");
            using var response = await admin.Http.SendAsync(wrongToken);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        }
        Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT statename FROM hangfire.job WHERE id = {jobId}"), Is.EqualTo("Enqueued"), "the job was not touched");

        using (var delete = await admin.PostWithTokenAsync("/hangfire/jobs/enqueued/delete", ("jobs[]", jobId)))
        {
            Assert.That(delete.IsSuccessStatusCode, Is.True, $"{delete.StatusCode}");
        }
        Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT statename FROM hangfire.job WHERE id = {jobId}"), Is.EqualTo("Deleted"), "with the token it works");

        // A script with an admin key needs the token as well, and works with it.
        using var script = DashboardBrowser.Open(Api.BaseAddress!, TestKeys.Admin);
        using (var withoutToken = await script.Http.PostAsync(new Uri("/hangfire/jobs/deleted/requeue", UriKind.Relative), DashboardBrowser.Form(("jobs[]", jobId))))
        {
            Assert.That(withoutToken.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        }
        using (var requeue = await script.PostWithTokenAsync("/hangfire/jobs/deleted/requeue", ("jobs[]", jobId)))
        {
            Assert.That(requeue.IsSuccessStatusCode, Is.True, $"{requeue.StatusCode}");
        }
        Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT statename FROM hangfire.job WHERE id = {jobId}"), Is.EqualTo("Enqueued"), "requeued by the script");

        // The sign-in form carries a token as well: a sign-in posted from elsewhere is refused.
        using var other = DashboardBrowser.Open(Api.BaseAddress!);
        using var forgedSignIn = await other.Http.PostAsync(new Uri("/login", UriKind.Relative), DashboardBrowser.Form(("key", TestKeys.Admin), ("return_url", "/hangfire")));
        Assert.That(forgedSignIn.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await other.IsSignedInAsync(), Is.False);
    }

    [Test]
    public async Task Logout_ends_a_cookie_session_and_needs_the_forms_token()
    {
        using var reader = await DashboardBrowser.SignInAsync(Api.BaseAddress!, TestKeys.ReadOnly);
        Assert.That(await reader.IsSignedInAsync(), Is.True);

        using (var forged = await reader.Http.PostAsync(new Uri("/logout", UriKind.Relative), DashboardBrowser.Form()))
        {
            Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "a sign-out without the form's token");
        }
        Assert.That(await reader.IsSignedInAsync(), Is.True, "still signed in");

        using (var logout = await reader.SignOutAsync())
        {
            Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await logout.Content.ReadAsStringAsync());
            Assert.That(logout.Headers.Location!.ToString(), Is.EqualTo("/login"));
        }
        Assert.That(await reader.IsSignedInAsync(), Is.False, "signed out: the dashboard sends the browser to sign in");
    }

    private static HttpRequestMessage Request(HttpMethod method, string path) =>
        new(method, new Uri(path.Replace("{id}", "1", StringComparison.Ordinal).Replace("{name}", "echo", StringComparison.Ordinal), UriKind.Relative))
        {
            Content = method == HttpMethod.Get ? null : new StringContent("{}", Encoding.UTF8, "application/json"),
        };

    /// <summary>Every operation in the OpenAPI documents (the native API's and the adapters'), which are served without a key.</summary>
    private async Task<List<(HttpMethod Method, string Path)>> EndpointsAsync()
    {
        using var anonymous = CreateHttpClient(Api.BaseAddress!, key: null);
        var endpoints = new List<(HttpMethod Method, string Path)>();
        foreach (var name in new[] { "v1", "compat-callme", "compat-tasks", "compat-celery", "compat-frappe" })
        {
            var document = JsonNode.Parse(await anonymous.GetStringAsync(new Uri($"/openapi/{name}.json", UriKind.Relative)))!;
            endpoints.AddRange(document["paths"]!.AsObject().SelectMany(path => path.Value!.AsObject()
                .Select(operation => (new HttpMethod(operation.Key.ToUpperInvariant()), path.Key))));
        }
        return endpoints;
    }
}

/// <summary>Each key has its own rate; over it, 429 problem details with Retry-After.</summary>
public sealed class RateLimitTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Limits__RequestsPerSecond"] = "2",
        ["Limits__Burst"] = "5",
    };

    [Test]
    public async Task A_key_over_its_rate_gets_429_with_retry_after_and_other_keys_are_unaffected()
    {
        using var admin = CreateHttpClient(Api.BaseAddress!);
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 30 && limited is null; i++)
        {
            var response = await admin.GetAsync(new Uri("/schedules", UriKind.Relative));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
            else
            {
                response.Dispose();
            }
        }
        Assert.That(limited, Is.Not.Null, $"statuses: {string.Join(", ", statuses)}");
        using (limited)
        {
            Assert.That(limited!.Headers.RetryAfter?.Delta, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(limited.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(await limited.Content.ReadAsStringAsync(), Does.Contain("Too many requests"));
        }
        using var reader = CreateHttpClient(Api.BaseAddress!, TestKeys.ReadOnly);
        using var other = await reader.GetAsync(new Uri("/schedules", UriKind.Relative));
        Assert.That(other.StatusCode, Is.EqualTo(HttpStatusCode.OK), "another key has its own bucket");
        using var anonymous = CreateHttpClient(Api.BaseAddress!, key: null);
        using var health = await anonymous.GetAsync(new Uri("/health/live", UriKind.Relative));
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK), "probes are never limited");
    }
}

/// <summary>Every size limit is a setting, and going over it is a 4xx naming the field.</summary>
public sealed class LimitsTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Limits__MaxRequestBodyBytes"] = "4096",
        ["Limits__MaxUrlLength"] = "100",
        ["Limits__MaxHeaders"] = "2",
        ["Limits__MaxHeaderValueLength"] = "64",
        ["Limits__MaxBodyTemplateLength"] = "10",
        ["Limits__MaxPageSize"] = "5",
    };

    [Test]
    public async Task Configured_limits_are_enforced_with_problems_naming_the_field()
    {
        var longUrl = Target.Url("/" + new string('a', 120));
        await AssertRejectedAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{longUrl}}}"}}""", "target.url", "at most 100");
        await AssertRejectedAsync($$$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{{Target.Url("/x")}}}}", "headers": {"A": "1", "B": "2", "C": "3"}}}""", "target.headers", "at most 2");
        await AssertRejectedAsync($$$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{{Target.Url("/x")}}}}", "headers": {"A": "{{{{new string('v', 65)}}}}"}}}""", "target.headers.A", "at most 64");
        await AssertRejectedAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/x")}}}", "body": "more than ten characters"}}""", "target.body", "at most 10");
        await AssertRejectedAsync($$$"""{"schedule_type": "IMMEDIATE", "callback_url": "{{{longUrl}}}", "target": {"url": "{{{Target.Url("/x")}}}"}}""", "callback_url", "at most 100");

        var (status, problem) = await Client.ListRuns(limit: 6).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem!["errors"]!["limit"]![0]!.GetValue<string>(), Does.Contain("between 1 and 5"));

        var (tooBig, body) = await Client.CreateSchedule(Json($$$"""{"schedule_type": "IMMEDIATE", "tag": "{{{new string('x', 5000)}}}", "target": {"url": "{{{Target.Url("/x")}}}"}}""")).ReadAsync();
        Assert.That(tooBig, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge), body?.ToJsonString());
        Assert.That(body!["status"]!.GetValue<int>(), Is.EqualTo(413));
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo("targets=0 schedules=0 runs=0 attempts=0"), "nothing written");
    }

    private async Task AssertRejectedAsync(string json, string field, string message)
    {
        var (status, problem) = await Client.CreateSchedule(Json(json)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), problem?.ToJsonString());
        Assert.That(problem!["errors"]![field]?[0]?.GetValue<string>(), Does.Contain(message), problem.ToJsonString());
    }
}
