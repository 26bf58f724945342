namespace Scheduler.Tests.EndToEnd;

/// <summary>One request end to end: the API commits and enqueues, the worker process calls a real target.</summary>
public sealed class ImmediateScheduleTests : SystemTestBase
{
    [Test]
    public async Task Immediate_schedule_returns_201_and_its_run_succeeds_with_status_code_and_latency()
    {
        var url = Target.Url("/hello");
        var (status, schedule) = await Client.CreateSchedule(Json($$$"""
            {"name": "say-hello", "schedule_type": "IMMEDIATE", "target": {"url": "{{{url}}}"}}
            """)).ReadAsync();

        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), schedule?.ToJsonString());
        Assert.That(schedule!["schedule_type"]!.GetValue<string>(), Is.EqualTo("IMMEDIATE"));
        Assert.That(schedule["status"]!.GetValue<string>(), Is.EqualTo("ACTIVE"));
        Assert.That(schedule["target"]!["url"]!.GetValue<string>(), Is.EqualTo(url));

        var run = await Client.WaitForFinishedRunAsync(schedule["id"]!.GetValue<long>(), Seconds(30));
        Assert.Multiple(() =>
        {
            Assert.That(run["status"]!.GetValue<string>(), Is.EqualTo("SUCCESS"));
            Assert.That(run["status_code"]!.GetValue<int>(), Is.EqualTo(200));
            Assert.That(run["latency_ms"]!.GetValue<double>(), Is.GreaterThan(0));
            Assert.That(run["lateness_ms"]!.GetValue<double>(), Is.GreaterThanOrEqualTo(0));
            Assert.That(run["response_size_bytes"]!.GetValue<long>(), Is.EqualTo(2));
            Assert.That(run["response_excerpt"]!.GetValue<string>(), Is.EqualTo("ok"));
            Assert.That(run["attempt_count"]!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(run["attempts"]!.AsArray(), Has.Count.EqualTo(1));
            Assert.That(run["attempts"]![0]!["status"]!.GetValue<string>(), Is.EqualTo("SUCCESS"));
            Assert.That(run["hangfire_job_id"]!.GetValue<string>(), Is.Not.Empty);
        });

        var received = Target.ReceivedOn("/hello").Single();
        Assert.Multiple(() =>
        {
            Assert.That(received.Method, Is.EqualTo("GET"));
            Assert.That(received.Header("X-Scheduler-Run-Id"), Is.EqualTo(run["id"]!.ToString()));
            Assert.That(received.Header("X-Scheduler-Attempt"), Is.EqualTo("1"));
            Assert.That(received.Header("Idempotency-Key"), Does.StartWith($"{schedule["id"]}:"));
            Assert.That(received.Header("User-Agent"), Does.StartWith("Scheduler/"));
        });

        var (_, completed) = await Client.GetSchedule(schedule["id"]!.GetValue<long>()).ReadAsync();
        Assert.That(completed!["status"]!.GetValue<string>(), Is.EqualTo("COMPLETED"));
        Assert.That(completed["last_run_at"], Is.Not.Null);
    }

    [Test]
    public async Task The_call_is_made_by_the_worker_process_not_the_api()
    {
        var url = Target.Url("/who-calls");
        var scheduleId = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{url}}}"}}""");
        var run = await Client.WaitForFinishedRunAsync(scheduleId, Seconds(30));

        var line = $"Run {run["id"]} attempt 1: GET {url}";
        await Worker!.WaitForOutputAsync(line, Seconds(10));
        Assert.That(Api.Output, Does.Not.Contain(line));
        Assert.That(Api.Output, Does.Not.Contain("/who-calls"));
    }

    [Test]
    public async Task A_named_target_is_called_with_its_method_headers_and_body()
    {
        var (status, target) = await Client.CreateTarget(Json($$$"""
            {
              "name": "orders-webhook",
              "url": "{{{Target.Url("/orders")}}}",
              "method": "post",
              "headers": {"X-Api-Token": "abc123", "User-Agent": "API-Scheduler/1.0"},
              "body_template": "{\"order\": 42}",
              "timeout_seconds": 5
            }
            """)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), target?.ToJsonString());
        Assert.That(target!["method"]!.GetValue<string>(), Is.EqualTo("POST"));

        var scheduleId = await Client.CreateScheduleAsync($$$"""{"target_id": {{{target["id"]}}}, "schedule_type": "IMMEDIATE"}""");
        var run = await Client.WaitForFinishedRunAsync(scheduleId, Seconds(30));

        Assert.That(run["status"]!.GetValue<string>(), Is.EqualTo("SUCCESS"));
        var received = Target.ReceivedOn("/orders").Single();
        Assert.Multiple(() =>
        {
            Assert.That(received.Method, Is.EqualTo("POST"));
            Assert.That(received.Body, Is.EqualTo("""{"order": 42}"""));
            Assert.That(received.Header("Content-Type"), Does.StartWith("application/json"));
            Assert.That(received.Header("X-Api-Token"), Is.EqualTo("abc123"));
            Assert.That(received.Header("User-Agent"), Is.EqualTo("API-Scheduler/1.0"));
        });
    }

    [TestCase("/fails", 500, "FAILED", "http_5xx", 500)]
    [TestCase("/missing", 404, "FAILED", "http_4xx", 404)]
    public async Task An_error_status_fails_the_run_with_its_error_type(string path, int answer, string runStatus, string errorType, int statusCode)
    {
        Target.Respond(path, TestTarget.Status(answer, "nope"));
        var scheduleId = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url(path)}}}"}}""");
        var run = await Client.WaitForFinishedRunAsync(scheduleId, Seconds(30));
        AssertOutcome(run, runStatus, errorType);
        Assert.That(run["status_code"]!.GetValue<int>(), Is.EqualTo(statusCode));
        Assert.That(run["response_excerpt"]!.GetValue<string>(), Is.EqualTo("nope"));
    }

    [Test]
    public async Task A_closed_port_is_a_connection_error()
    {
        var scheduleId = await Client.CreateScheduleAsync("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:1/closed"}}""");
        AssertOutcome(await Client.WaitForFinishedRunAsync(scheduleId, Seconds(30)), "CONNECTION_ERROR", "connection");
    }

    [Test]
    public async Task An_unresolvable_name_is_a_dns_error()
    {
        var scheduleId = await Client.CreateScheduleAsync("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://no-such-host.invalid/"}}""");
        AssertOutcome(await Client.WaitForFinishedRunAsync(scheduleId, Seconds(30)), "DNS_ERROR", "dns");
    }

    [Test]
    public async Task A_response_slower_than_the_timeout_is_a_timeout()
    {
        Target.Respond("/slow", TestTarget.Slow(Seconds(10)));
        var scheduleId = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/slow")}}}", "timeout_seconds": 1}}
            """);
        var run = await Client.WaitForFinishedRunAsync(scheduleId, Seconds(30));
        AssertOutcome(run, "TIMEOUT", "timeout");
        Assert.That(run["latency_ms"]!.GetValue<double>(), Is.GreaterThanOrEqualTo(900).And.LessThan(9000));
    }

    [Test]
    public async Task A_body_that_trickles_past_the_timeout_is_a_timeout_at_the_targets_timeout()
    {
        // Headers at once, then a byte every 100 ms for a minute: each read makes progress, the whole does not end.
        Target.Respond("/trickle", TestTarget.Trickle(TimeSpan.FromMilliseconds(100), Seconds(60)));
        var kept = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/trickle")}}}", "timeout_seconds": 2}, "retry": {"max_attempts": 1}}
            """);
        var discarded = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/trickle")}}}", "timeout_seconds": 2}, "retry": {"max_attempts": 1}, "no_response": true}
            """);
        foreach (var id in new[] { kept, discarded })
        {
            var run = await Client.WaitForFinishedRunAsync(id, Seconds(30));
            AssertOutcome(run, "TIMEOUT", "timeout");
            Assert.That(run["latency_ms"]!.GetValue<double>(), Is.GreaterThanOrEqualTo(1900).And.LessThan(10_000), "the deadline covers the body, not only the headers");
        }
    }

    [Test]
    public async Task The_dashboard_lists_the_run_as_a_hangfire_job()
    {
        var scheduleId = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/dash")}}}"}}""");
        var run = await Client.WaitForFinishedRunAsync(scheduleId, Seconds(30));
        using var http = CreateHttpClient(Api.BaseAddress!);

        // The job moves to Succeeded just after the run is recorded.
        await Eventually.UntilAsync(async () =>
            (await http.GetStringAsync(new Uri("/hangfire/jobs/succeeded", UriKind.Relative))).Contains($"Run #{run["id"]} &#183; schedule #{scheduleId}", StringComparison.Ordinal),
            Seconds(30), "the dashboard to list the run's job as succeeded");
        var jobPage = await http.GetStringAsync(new Uri($"/hangfire/jobs/details/{run["hangfire_job_id"]}", UriKind.Relative));
        Assert.That(jobPage, Does.Contain("IRunJob"));
    }

    [Test]
    public async Task Health_has_seed_001s_shape_and_sees_the_worker()
    {
        var (status, body) = await Client.GetHealth().ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body!.ToJsonString(), Is.EqualTo("""{"status":"healthy","scheduler_running":true}"""));

        using var http = CreateHttpClient(Api.BaseAddress!);
        Assert.That((await http.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Docs_and_the_openapi_document_are_served()
    {
        using var http = CreateHttpClient(Api.BaseAddress!);
        var docs = await http.GetStringAsync(new Uri("/docs/", UriKind.Relative));
        Assert.That(docs, Does.Contain("scalar"));
        var openApi = JsonNode.Parse(await http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!;
        Assert.That(openApi["paths"]!.AsObject().Select(p => p.Key), Is.SupersetOf(new[] { "/health", "/targets", "/schedules", "/runs/{id}" }));
        Assert.That(openApi.ToJsonString(), Does.Contain("\"schedule_type\"").And.Contain("\"timeout_seconds\""));
    }

    private static void AssertOutcome(JsonNode run, string status, string errorType) => Assert.Multiple(() =>
    {
        Assert.That(run["status"]!.GetValue<string>(), Is.EqualTo(status), run.ToJsonString());
        Assert.That(run["error_type"]!.GetValue<string>(), Is.EqualTo(errorType));
        Assert.That(run["error_message"]!.GetValue<string>(), Is.Not.Empty);
        Assert.That(run["attempts"]![0]!["error_type"]!.GetValue<string>(), Is.EqualTo(errorType));
    });
}
