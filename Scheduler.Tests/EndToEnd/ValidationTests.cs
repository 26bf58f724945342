namespace Scheduler.Tests.EndToEnd;

/// <summary>Bad input: a 400 problem naming the field, and nothing written.</summary>
public sealed class ValidationTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    private const string Url = "http://127.0.0.1:9/x";

    [TestCase("""{"target": {"url": "http://127.0.0.1:9/x"}}""", "schedule_type", TestName = "schedule_type is required")]
    [TestCase("""{"schedule_type": "SOMETIMES", "target": {"url": "http://127.0.0.1:9/x"}}""", "schedule_type", TestName = "an unknown schedule_type is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE"}""", "target_id", TestName = "a target is required")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target_id": 1, "target": {"url": "http://127.0.0.1:9/x"}}""", "target", TestName = "target_id and target together are refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target_id": 987654}""", "target_id", TestName = "an unknown target_id is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"method": "GET"}}""", "target.url", TestName = "an inline target needs a url")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "ftp://example.com/"}}""", "target.url", TestName = "only http and https urls")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "/relative"}}""", "target.url", TestName = "a relative url is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "method": "FETCH"}}""", "target.method", TestName = "an unknown method is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "timeout_seconds": 0}}""", "target.timeout_seconds", TestName = "a zero timeout is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "headers": {"Bad Header": "x"}}}""", "target.headers", TestName = "a malformed header name is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "headers": {"X-A": "a\r\nInjected: 1"}}}""", "target.headers.X-A", TestName = "a header value with a line break is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "headers": {"X-A": null}}}""", "target.headers.X-A", TestName = "a null header value is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "headers": {"X-A": 5}}}""", "target.headers.X-A", TestName = "a number as header value is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "name": "n"}}""", "target.name", TestName = "an inline target has no name")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "run_at": "+5m", "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "run_at is for ONCE only")]
    [TestCase("""{"schedule_type": "ONCE", "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "ONCE needs run_at")]
    [TestCase("""{"schedule_type": "ONCE", "run_at": "", "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "run_at empty")]
    [TestCase("""{"schedule_type": "ONCE", "run_at": "+", "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "run_at plus alone")]
    [TestCase("""{"schedule_type": "ONCE", "run_at": "+m", "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "run_at without a number")]
    [TestCase("""{"schedule_type": "ONCE", "run_at": "+6", "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "run_at without a unit")]
    [TestCase("""{"schedule_type": "ONCE", "run_at": "6h", "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "run_at without plus")]
    [TestCase("""{"schedule_type": "ONCE", "run_at": "+6z", "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "run_at with an unknown unit")]
    [TestCase("""{"schedule_type": "ONCE", "run_at": "2001-01-01T00:00:00Z", "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "run_at in the past")]
    [TestCase("""{"schedule_type": "ONCE", "run_at": 978307200, "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "run_at in the past as unix seconds")]
    [TestCase("""{"schedule_type": "ONCE", "run_at": 1e300, "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "run_at out of range")]
    [TestCase("""{"schedule_type": "ONCE", "run_at": true, "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "run_at of the wrong type")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target_id": "abc"}""", "target_id", TestName = "target_id of the wrong type")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target_id": 99999999999999999999999}""", "target_id", TestName = "target_id overflowing")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x"}, "colour": "red"}""", "colour", TestName = "an unknown field is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": "http://127.0.0.1:9/x"}""", "target", TestName = "target of the wrong type")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x"}""", "body", TestName = "truncated json")]
    [TestCase("""[1, 2]""", "body", TestName = "an array instead of an object")]
    [TestCase("""{"schedule_type": "ONCE", "run_at": "+999999999d", "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "run_at overflowing as a relative time")]
    [TestCase("""{"schedule_type": "ONCE", "run_at": "9999-12-31T23:59:59.9999999Z", "target": {"url": "http://127.0.0.1:9/x"}}""", "run_at", TestName = "run_at at the end of dotnet's range")]
    [TestCase("""{"schedule_type": "INTERVAL", "interval_seconds": 60, "start_at": "0001-01-01T00:00:00Z", "target": {"url": "http://127.0.0.1:9/x"}}""", "start_at", TestName = "start_at at the start of dotnet's range")]
    [TestCase("""{"schedule_type": "CRON", "cron_expression": "* * * * *", "end_at": "+99999999d", "target": {"url": "http://127.0.0.1:9/x"}}""", "end_at", TestName = "end_at overflowing as a relative time")]
    [TestCase("""{"schedule_type": "WINDOW", "interval_seconds": 60, "start_at": "9998-12-31T00:00:00Z", "duration_seconds": 31622400, "target": {"url": "http://127.0.0.1:9/x"}}""", "duration_seconds", TestName = "a window ending past the supported range")]
    [TestCase("""{"schedule_type": "WINDOW", "interval_seconds": 60, "start_at": "1970-01-01T00:00:00Z", "end_at": "8000-01-01T00:00:00Z", "target": {"url": "http://127.0.0.1:9/x"}}""", "end_at", TestName = "a window longer than its duration can count")]
    [TestCase("""{"schedule_type": "INTERVAL", "interval_seconds": 2147483648, "target": {"url": "http://127.0.0.1:9/x"}}""", "interval_seconds", TestName = "interval_seconds past int")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "max_delay_seconds": -9223372036854775809, "target": {"url": "http://127.0.0.1:9/x"}}""", "max_delay_seconds", TestName = "max_delay_seconds past long")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "retry": {"max_attempts": 1e20}, "target": {"url": "http://127.0.0.1:9/x"}}""", "retry.max_attempts", TestName = "max_attempts as a huge float")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "expected_http_status": [200, 99999999999999999999], "target": {"url": "http://127.0.0.1:9/x"}}""", "expected_http_status", TestName = "expected_http_status past int")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "timeout_seconds": 9223372036854775807}}""", "target.timeout_seconds", TestName = "timeout_seconds past int")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "headers": {"X-A": "enc:v1:CfDJ8abc"}}}""", "target.headers.X-A", TestName = "a target header value that looks encrypted is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "headers": {"Authorization": "enc:v1:CfDJ8abc"}}}""", "target.headers.Authorization", TestName = "a secret header value that looks encrypted is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "signing_secret": "enc:v1:0123456789abcdef"}}""", "target.signing_secret", TestName = "a signing secret that looks encrypted is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x"}, "callback_url": "http://127.0.0.1:9/cb", "callback_headers": {"X-Token": "enc:v1:x"}}""", "callback_headers.X-Token", TestName = "a callback header value that looks encrypted is refused")]
    [TestCase("""{"name": "nightly\nINF] forged line", "schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x"}}""", "name", TestName = "a schedule name with a line break is refused")]
    [TestCase("""{"name": "\u001b[31mred", "schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x"}}""", "name", TestName = "a schedule name with an escape sequence is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "tag": "a\tb", "target": {"url": "http://127.0.0.1:9/x"}}""", "tag", TestName = "a tag with a tab is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "reference_id": "abc\u202Efdp.exe", "target": {"url": "http://127.0.0.1:9/x"}}""", "reference_id", TestName = "a reference with a bidirectional override is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x\u0007"}}""", "target.url", TestName = "a target url with a control character is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x"}, "callback_url": "http://127.0.0.1:9/cb\u0085"}""", "callback_url", TestName = "a callback url with a control character is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "rate_limit_per_second": 0}}""", "target.rate_limit_per_second", TestName = "a zero rate limit is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "rate_limit_per_second": 10000.5}}""", "target.rate_limit_per_second", TestName = "a rate limit over 10,000 is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "rate_limit_per_second": "5"}}""", "target.rate_limit_per_second", TestName = "a rate limit as a string is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "max_concurrency": 0}}""", "target.max_concurrency", TestName = "a zero concurrency is refused")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x", "max_concurrency": 1.5}}""", "target.max_concurrency", TestName = "a fractional concurrency is refused")]
    public async Task A_bad_schedule_is_a_400_naming_the_field_and_writes_nothing(string json, string field)
    {
        var before = await TestDatabase.CountsAsync();
        using var response = await Client.CreateSchedule(Json(json));
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        var problem = System.Text.Json.Nodes.JsonNode.Parse(body)!;
        Assert.That(problem["errors"]?.AsObject().Select(e => e.Key), Does.Contain(field), body);
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo(before));
    }

    [TestCase("""{"name": "bad\rname", "url": "http://127.0.0.1:9/x"}""", "name", TestName = "a target name with a carriage return is refused")]
    [TestCase("""{"name": "t", "url": "http://127.0.0.1:9/x", "headers": {"X-Api-Token": "enc:v1:CfDJ8abc"}}""", "headers.X-Api-Token", TestName = "a named target's header value that looks encrypted is refused")]
    [TestCase("""{"name": "t", "url": "http://127.0.0.1:9/x", "rate_limit_per_second": -1}""", "rate_limit_per_second", TestName = "a negative rate limit is refused")]
    [TestCase("""{"name": "t", "url": "http://127.0.0.1:9/x", "rate_limit_per_second": 0.0001}""", "rate_limit_per_second", TestName = "a rate limit under 0.001 is refused")]
    [TestCase("""{"name": "t", "url": "http://127.0.0.1:9/x", "max_concurrency": 10001}""", "max_concurrency", TestName = "a concurrency over 10,000 is refused")]
    [TestCase("""{"name": "t", "url": "http://127.0.0.1:9/x", "max_concurrency": -2}""", "max_concurrency", TestName = "a negative concurrency is refused")]
    public async Task A_bad_target_is_a_400_naming_the_field_and_writes_nothing(string json, string field)
    {
        var (status, problem) = await Client.CreateTarget(Json(json)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), problem?.ToJsonString());
        Assert.That(problem!["errors"]?.AsObject().Select(e => e.Key), Does.Contain(field), problem.ToJsonString());
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo("targets=0 schedules=0 runs=0 attempts=0"));
    }

    [Test]
    public async Task An_update_may_keep_stored_secrets_but_not_send_a_value_that_looks_encrypted()
    {
        var (status, created) = await Client.CreateTarget(Json($$"""{"name": "t", "url": "{{Url}}", "headers": {"Authorization": "Bearer x"}, "signing_secret": "0123456789abcdef"}""")).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), created?.ToJsonString());
        var id = created!["id"]!.GetValue<long>();

        var (kept, body) = await Client.UpdateTarget(id, Json("""{"method": "POST"}""")).ReadAsync();
        Assert.That(kept, Is.EqualTo(HttpStatusCode.OK), body?.ToJsonString());
        var (refused, problem) = await Client.UpdateTarget(id, Json("""{"headers": {"Authorization": "enc:v1:CfDJ8abc"}}""")).ReadAsync();
        Assert.That(refused, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem!["errors"]!["headers.Authorization"], Is.Not.Null, problem.ToJsonString());
    }

    [Test]
    public async Task A_targets_limits_are_stored_shown_and_changed_and_an_inline_target_keeps_its_own()
    {
        var (status, created) = await Client.CreateTarget(Json($$"""{"name": "limited", "url": "{{Url}}", "rate_limit_per_second": 0.5, "max_concurrency": 3}""")).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), created?.ToJsonString());
        var id = created!["id"]!.GetValue<long>();
        Assert.That((created["rate_limit_per_second"]!.GetValue<double>(), created["max_concurrency"]!.GetValue<int>()), Is.EqualTo((0.5, 3)));

        var (updated, changed) = await Client.UpdateTarget(id, Json("""{"max_concurrency": 7}""")).ReadAsync();
        Assert.That(updated, Is.EqualTo(HttpStatusCode.OK), changed?.ToJsonString());
        var (_, shown) = await Client.GetTarget(id).ReadAsync();
        Assert.That((shown!["rate_limit_per_second"]!.GetValue<double>(), shown["max_concurrency"]!.GetValue<int>()), Is.EqualTo((0.5, 7)), "a field left out keeps its value");
        var (refused, problem) = await Client.UpdateTarget(id, Json("""{"rate_limit_per_second": 0}""")).ReadAsync();
        Assert.That(refused, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem!["errors"]!["rate_limit_per_second"], Is.Not.Null, problem.ToJsonString());

        var (_, unlimited) = await Client.CreateTarget(Json($$"""{"name": "unlimited", "url": "{{Url}}"}""")).ReadAsync();
        Assert.That(unlimited!["rate_limit_per_second"], Is.Null, "no limit unless one is set");
        Assert.That(unlimited["max_concurrency"], Is.Null, "no limit unless one is set");

        await Client.CreateScheduleAsync($$$"""{"schedule_type": "ONCE", "run_at": "+1h", "target": {"url": "{{{Url}}}", "rate_limit_per_second": 2.5, "max_concurrency": 1}}""");
        Assert.That(await TestDatabase.ScalarAsync<string>("SELECT rate_limit_per_second || '/' || max_concurrency FROM scheduler.targets WHERE inline"), Is.EqualTo("2.5/1"));
    }

    [Test]
    public async Task A_target_needs_a_unique_name()
    {
        var (status, problem) = await Client.CreateTarget(Json($$"""{"url": "{{Url}}"}""")).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem!["errors"]!["name"], Is.Not.Null);

        (status, _) = await Client.CreateTarget(Json($$"""{"name": "only-one", "url": "{{Url}}"}""")).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created));
        var before = await TestDatabase.CountsAsync();
        (status, problem) = await Client.CreateTarget(Json($$"""{"name": "only-one", "url": "{{Url}}"}""")).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem!["errors"]!["name"]![0]!.GetValue<string>(), Does.Contain("already exists"));
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo(before));
    }

    [Test]
    public async Task Missing_records_are_404s_that_name_them()
    {
        var (status, problem) = await Client.GetTarget(424242).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(problem!["detail"]!.GetValue<string>(), Is.EqualTo("Target 424242 not found"));

        (status, problem) = await Client.GetRun(777).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(problem!["detail"]!.GetValue<string>(), Is.EqualTo("Run 777 not found"));

        (status, problem) = await Client.GetSchedule(555).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(problem!["detail"]!.GetValue<string>(), Is.EqualTo("Schedule 555 not found"));
    }

    [Test]
    public async Task A_body_that_is_not_json_is_refused_with_a_problem()
    {
        using var http = CreateHttpClient(Api.BaseAddress!);
        using var plain = await http.PostAsync(new Uri("/schedules", UriKind.Relative), new StringContent("schedule_type=IMMEDIATE"));
        Assert.That(plain.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        Assert.That(plain.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));

        using var empty = await http.PostAsync(new Uri("/schedules", UriKind.Relative), Json(""));
        Assert.That(empty.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(empty.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo("targets=0 schedules=0 runs=0 attempts=0"));
    }

    [TestCase("status_filter=SOMETIMES", "status_filter")]
    [TestCase("limit=0", "limit")]
    [TestCase("limit=1001", "limit")]
    [TestCase("skip=-1", "skip")]
    [TestCase("skip=99999999999", "skip")]
    [TestCase("limit=-9223372036854775809", "limit")]
    [TestCase("schedule_id=9223372036854775808", "schedule_id")]
    [TestCase("start_time=%2B99999999d", "start_time")]
    [TestCase("end_time=0001-01-01T00:00:00Z", "end_time")]
    public async Task Bad_run_filters_are_400s_naming_the_parameter(string query, string field)
    {
        using var http = CreateHttpClient(Api.BaseAddress!);
        using var response = await http.GetAsync(new Uri($"/runs?{query}", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(body, Does.Contain($"\"{field}\""));
    }

    [TestCase("""{"schedules": []}""", "schedules", TestName = "a bulk request needs a schedule")]
    [TestCase("""{}""", "schedules", TestName = "a bulk request needs schedules")]
    [TestCase("""{"schedules": [{"schedule_type": "ONCE", "run_at": "+1h", "target": {"url": "http://127.0.0.1:9/x"}}, {"schedule_type": "IMMEDIATE", "target": {"url": "ftp://x"}}]}""",
        "schedules[1].target.url", TestName = "a bad item in bulk is named by its index")]
    [TestCase("""{"schedules": [{"schedule_type": "INTERVAL", "target": {"url": "http://127.0.0.1:9/x"}}]}""", "schedules[0].interval_seconds", TestName = "a bulk item's missing field is named")]
    [TestCase("""{"schedules": [null]}""", "schedules[0]", TestName = "a null item in bulk is refused")]
    public async Task A_bad_bulk_request_is_a_400_naming_the_item_and_writes_none_of_them(string json, string field)
    {
        var before = await TestDatabase.CountsAsync();
        using var response = await Client.CreateSchedules(Json(json));
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        var problem = System.Text.Json.Nodes.JsonNode.Parse(body)!;
        Assert.That(problem["errors"]?.AsObject().Select(e => e.Key), Has.Some.StartsWith(field), body);
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo(before));
    }

    [Test]
    public async Task A_bulk_request_creates_every_schedule_in_one_go_and_queues_the_immediate_ones()
    {
        var items = string.Join(", ", Enumerable.Range(0, 250).Select(i => i % 5 == 0
            ? $$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Url}}}/{{{i}}}"}}"""
            : $$$"""{"name": "bulk-{{{i}}}", "schedule_type": "INTERVAL", "interval_seconds": 60, "start_at": "+1h", "target": {"url": "{{{Url}}}/{{{i}}}"}}"""));
        var (status, body) = await Client.CreateSchedules(Json($$"""{"schedules": [{{items}}]}""")).ReadAsync();

        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), body?.ToJsonString());
        var created = body!["schedules"]!.AsArray();
        Assert.Multiple(() =>
        {
            Assert.That(body["count"]!.GetValue<int>(), Is.EqualTo(250));
            Assert.That(created.Select(s => s!["id"]!.GetValue<long>()), Is.Unique.And.All.GreaterThan(0));
            Assert.That(created[1]!["name"]!.GetValue<string>(), Is.EqualTo("bulk-1"), "in the order given");
            Assert.That(created[1]!["next_run_at"], Is.Not.Null);
        });
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo("targets=250 schedules=250 runs=50 attempts=0"));
        Assert.That(await TestDatabase.JobOfLatestRunAsync(created[0]!["id"]!.GetValue<long>()), Is.Not.Empty, "an immediate run is handed to Hangfire");
    }

    [Test]
    public async Task A_bulk_request_over_the_limit_is_refused_whole()
    {
        var items = string.Join(", ", Enumerable.Repeat($$$"""{"schedule_type": "ONCE", "run_at": "+1h", "target": {"url": "{{{Url}}}"}}""", 1001));
        var (status, body) = await Client.CreateSchedules(Json($$"""{"schedules": [{{items}}]}""")).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body!["errors"]!["schedules"]![0]!.GetValue<string>(), Does.Contain("at most 1000"));
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo("targets=0 schedules=0 runs=0 attempts=0"));
    }

    [Test]
    public async Task Schedules_and_targets_are_listed_a_page_at_a_time_like_runs()
    {
        var targets = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            var (status, target) = await Client.CreateTarget(Json($$"""{"name": "page-{{i}}", "url": "{{Url}}"}""")).ReadAsync();
            Assert.That(status, Is.EqualTo(HttpStatusCode.Created));
            targets.Add(target!["id"]!.GetValue<long>());
        }
        var schedules = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            schedules.Add(await Client.CreateScheduleAsync($$"""{"schedule_type": "ONCE", "run_at": "+1d", "target_id": {{targets[0]}}}"""));
        }

        // Seed 001's shape: a JSON list; the next page's cursor in X-Next-Cursor, none on the last page.
        using (var first = await Client.ListSchedules(limit: 2))
        {
            var ids = System.Text.Json.Nodes.JsonNode.Parse(await first.Content.ReadAsStringAsync())!.AsArray().Select(s => s!["id"]!.GetValue<long>());
            Assert.That(ids, Is.EqualTo(schedules.Take(2)));
            Assert.That(first.Headers.TryGetValues("X-Next-Cursor", out var cursors), Is.True);
            // With a cursor: a page with next_cursor, until it is null.
            var seen = new List<long>();
            var cursor = cursors!.Single();
            while (cursor is not null)
            {
                var (status, page) = await Client.ListSchedules(limit: 2, cursor: cursor).ReadAsync();
                Assert.That(status, Is.EqualTo(HttpStatusCode.OK), page?.ToJsonString());
                seen.AddRange(page!["items"]!.AsArray().Select(s => s!["id"]!.GetValue<long>()));
                cursor = page["next_cursor"]?.GetValue<string>();
            }
            Assert.That(seen, Is.EqualTo(schedules.Skip(2)));
        }
        using (var all = await Client.ListSchedules())
        {
            Assert.That(all.Headers.Contains("X-Next-Cursor"), Is.False, "everything fits in the default page");
        }
        var (_, firstTargets) = await Client.ListTargets(cursor: "").ReadAsync();
        Assert.That(firstTargets!["items"]!.AsArray().Select(t => t!["id"]!.GetValue<long>()), Is.EqualTo(targets));
        Assert.That(firstTargets["next_cursor"], Is.Null);
        var (_, skipped) = await Client.ListTargets(limit: 1, skip: 1).ReadAsync();
        Assert.That(skipped!.AsArray().Select(t => t!["id"]!.GetValue<long>()), Is.EqualTo(new[] { targets[1] }));

        foreach (var (call, field) in new (Func<Task<HttpResponseMessage>>, string)[]
        {
            (() => Client.ListSchedules(limit: 0), "limit"),
            (() => Client.ListTargets(limit: 100_000_000), "limit"),
            (() => Client.ListSchedules(skip: -1), "skip"),
            (() => Client.ListTargets(cursor: "not-a-cursor"), "cursor"),
        })
        {
            var (status, problem) = await call().ReadAsync();
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), field);
            Assert.That(problem!["errors"]!.AsObject().Select(e => e.Key), Does.Contain(field));
        }
    }
}
