using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Scheduler.Tests.EndToEnd;

/// <summary>What happens when the call goes wrong, and what the record says, against a scripted target.</summary>
public sealed class ExecutionTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Execution__CallbackInitialIntervalSeconds"] = "1",
        // These tests fail on purpose, many times, against one host: no circuit breaking here.
        ["Execution__CircuitBreakerEnabled"] = "false",
        ["Execution__SigningSecret"] = "global-secret-for-callbacks",
    };

    [Test]
    public async Task Two_500s_then_a_200_succeed_on_the_third_attempt_with_backoff_and_one_idempotency_key()
    {
        Target.Respond("/flaky", TestTarget.Sequence(TestTarget.Status(500), TestTarget.Status(500), TestTarget.Status(200, "finally")));
        var id = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "retry": {"max_attempts": 3, "initial_interval_seconds": 1, "max_interval_seconds": 10},
             "target": {"url": "{{{Target.Url("/flaky")}}}"}}
            """);
        var run = await Client.WaitForFinishedRunAsync(id, Seconds(30));

        var attempts = run["attempts"]!.AsArray();
        Assert.Multiple(() =>
        {
            Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
            Assert.That(run["attempt_count"]!.GetValue<int>(), Is.EqualTo(3));
            Assert.That(attempts.Select(a => a!.Status()), Is.EqualTo(new[] { "FAILED", "FAILED", "SUCCESS" }));
            Assert.That(attempts.Select(a => a!["error_type"]?.GetValue<string>()), Is.EqualTo(new[] { "http_5xx", "http_5xx", null }));
        });
        // Backoff: about 1 s, then about 2 s (±20 % jitter), measured between attempts.
        var gap1 = attempts[1]!.Time("started_at") - attempts[0]!.Time("completed_at");
        var gap2 = attempts[2]!.Time("started_at") - attempts[1]!.Time("completed_at");
        Assert.That(gap1.TotalSeconds, Is.InRange(0.8, 3));
        Assert.That(gap2.TotalSeconds, Is.InRange(1.6, 5));
        var received = Target.ReceivedOn("/flaky");
        Assert.That(received.Select(r => r.Header("Idempotency-Key")).Distinct().Count(), Is.EqualTo(1));
        Assert.That(received.Select(r => r.Header("X-Scheduler-Attempt")), Is.EqualTo(new[] { "1", "2", "3" }));
    }

    [Test]
    public async Task A_429_with_retry_after_2_is_retried_no_sooner_than_2s_later()
    {
        Target.Respond("/busy", TestTarget.Sequence(TestTarget.StatusWithHeader(429, "Retry-After", "2"), TestTarget.Status(200)));
        var id = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "retry": {"initial_interval_seconds": 0}, "target": {"url": "{{{Target.Url("/busy")}}}"}}
            """);
        var run = await Client.WaitForFinishedRunAsync(id, Seconds(30));
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
        var arrivals = Target.ReceivedOn("/busy").Select(r => r.ArrivedAt).ToList();
        Assert.That(arrivals, Has.Count.EqualTo(2));
        Assert.That((arrivals[1] - arrivals[0]).TotalSeconds, Is.GreaterThanOrEqualTo(2));
        Assert.That(run["attempts"]![0]!["status_code"]!.GetValue<int>(), Is.EqualTo(429));
    }

    [Test]
    public async Task A_404_fails_after_one_attempt_unless_404_is_expected()
    {
        Target.Respond("/gone", TestTarget.Status(404, "no such thing"));
        var failed = await Client.WaitForFinishedRunAsync(
            await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/gone")}}}"}}"""), Seconds(30));
        Assert.That((failed.Status(), failed["attempt_count"]!.GetValue<int>(), failed["error_type"]!.GetValue<string>()), Is.EqualTo(("FAILED", 1, "http_4xx")));

        var expected = await Client.WaitForFinishedRunAsync(
            await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "expected_http_status": 404, "target": {"url": "{{{Target.Url("/gone")}}}"}}"""), Seconds(30));
        Assert.That(expected.Status(), Is.EqualTo("SUCCESS"));

        var listed = await Client.WaitForFinishedRunAsync(
            await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "expected_http_status": [200, 204], "target": {"url": "{{{Target.Url("/gone")}}}"}}"""), Seconds(30));
        Assert.That((listed.Status(), listed["error_message"]!.GetValue<string>()), Is.EqualTo(("FAILED", "HTTP 404 Not Found (expected 200 or 204).")));
    }

    [Test]
    public async Task A_5_MB_response_is_counted_in_full_and_kept_to_10_KB()
    {
        Target.Respond("/big", TestTarget.Large(5 * 1024 * 1024));
        var run = await Client.WaitForFinishedRunAsync(
            await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/big")}}}"}}"""), Seconds(30));
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
        Assert.That(run["response_size_bytes"]!.GetValue<long>(), Is.EqualTo(5 * 1024 * 1024));
        Assert.That(run["response_excerpt"]!.GetValue<string>(), Has.Length.EqualTo(10 * 1024));

        var quiet = await Client.WaitForFinishedRunAsync(
            await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "no_response": true, "target": {"url": "{{{Target.Url("/big")}}}"}}"""), Seconds(30));
        Assert.That((quiet["response_size_bytes"]!.GetValue<long>(), quiet["response_excerpt"]), Is.EqualTo((5L * 1024 * 1024, (JsonNode?)null)));
    }

    [Test]
    public async Task A_flaky_callback_receives_the_outcome_on_the_third_delivery_and_failures_go_to_the_error_callback()
    {
        Target.Respond("/cb", TestTarget.Sequence(TestTarget.Status(500), TestTarget.Status(503), TestTarget.Status(200)));
        Target.Respond("/broken", TestTarget.Status(400, "bad"));
        var ok = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/fine")}}}"},
             "callback_url": "{{{Target.Url("/cb")}}}", "error_callback_url": "{{{Target.Url("/errors")}}}",
             "callback_headers": {"X-Callback-Token": "t0k"},
             "reference_id": "REF-1", "ref_doctype": "Sales Invoice", "ref_docname": "SINV-0001", "tag": "nightly"}
            """);
        var failing = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/broken")}}}"},
             "callback_url": "{{{Target.Url("/cb-unused")}}}", "error_callback_url": "{{{Target.Url("/errors")}}}"}
            """);

        var deliveries = await Target.WaitForAsync("/cb", 3, Seconds(30));
        var payload = JsonNode.Parse(deliveries[2].Body)!;
        Assert.Multiple(() =>
        {
            Assert.That(payload["process_status"]!.GetValue<string>(), Is.EqualTo("Success"));
            Assert.That(payload["data"]!.GetValue<string>(), Is.EqualTo("ok"));
            Assert.That(payload["reference_id"]!.GetValue<string>(), Is.EqualTo("REF-1"));
            Assert.That(payload["request_id"]!.GetValue<long>(), Is.EqualTo(ok));
            Assert.That(payload["ref_doctype"]!.GetValue<string>(), Is.EqualTo("Sales Invoice"));
            Assert.That(payload["ref_docname"]!.GetValue<string>(), Is.EqualTo("SINV-0001"));
            Assert.That(payload["tag"]!.GetValue<string>(), Is.EqualTo("nightly"));
            Assert.That(payload["error"], Is.Null);
            Assert.That(payload["traceback"], Is.Null);
            Assert.That(payload["schedule_id"]!.GetValue<long>(), Is.EqualTo(ok));
            Assert.That(payload["status"]!.GetValue<string>(), Is.EqualTo("SUCCESS"));
            Assert.That(payload["status_code"]!.GetValue<int>(), Is.EqualTo(200));
            Assert.That(payload["attempts"]!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(payload.AsObject().Select(p => p.Key), Is.SupersetOf(new[] { "run_id", "due_at", "completed_at" }));
            Assert.That(deliveries.Select(d => d.Header("X-Callback-Token")), Is.All.EqualTo("t0k"));
            Assert.That(deliveries.Select(d => d.Header("Idempotency-Key")).Distinct().Count(), Is.EqualTo(1));
        });

        var errors = await Target.WaitForAsync("/errors", 1, Seconds(30));
        var failure = JsonNode.Parse(errors[0].Body)!;
        Assert.That((failure["process_status"]!.GetValue<string>(), failure["status"]!.GetValue<string>(), failure["error"]!.GetValue<string>()),
            Is.EqualTo(("Failed", "FAILED", "HTTP 400 Bad Request (expected a 2xx status).")));
        Assert.That(failure["schedule_id"]!.GetValue<long>(), Is.EqualTo(failing));
        Assert.That(Target.ReceivedOn("/cb-unused"), Is.Empty);

        // The deliveries are recorded on the run.
        var run = await Eventually.ValueAsync(async () =>
        {
            var detail = (await Client.GetRun((await Client.RunsOfAsync(ok))[0]["id"]!.GetValue<long>()).ReadAsync()).Body!;
            return detail["callback_status"]?.GetValue<string>() == "DELIVERED" ? detail : null;
        }, Seconds(10), "the delivery to be recorded");
        var delivery = run["callback_deliveries"]![0]!;
        Assert.That((delivery.Status(), delivery["attempt_count"]!.GetValue<int>(), delivery["kind"]!.GetValue<string>()), Is.EqualTo(("DELIVERED", 3, "SUCCESS")));
    }

    [Test]
    public async Task A_named_job_runs_with_its_args_and_an_unknown_name_is_refused()
    {
        var run = await Client.WaitForFinishedRunAsync(await Client.CreateScheduleAsync("""
            {"schedule_type": "IMMEDIATE", "job_name": "echo", "args": {"order": 42, "items": ["a", "b"]}}
            """), Seconds(30));
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
        Assert.That(JsonNode.DeepEquals(JsonNode.Parse(run["response_excerpt"]!.GetValue<string>()), JsonNode.Parse("""{"order":42,"items":["a","b"]}""")), Is.True);

        var failed = await Client.WaitForFinishedRunAsync(await Client.CreateScheduleAsync("""
            {"schedule_type": "IMMEDIATE", "job_name": "fail", "args": {"message": "out of paper"}, "retry": {"max_attempts": 1}}
            """), Seconds(30));
        Assert.That((failed.Status(), failed["error_type"]!.GetValue<string>(), failed["error_message"]!.GetValue<string>()),
            Is.EqualTo(("FAILED", "job_failed", "InvalidOperationException: out of paper")));

        var (status, problem) = await Client.CreateSchedule(Json("""{"schedule_type": "IMMEDIATE", "job_name": "send_email"}""")).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem!["errors"]!["job_name"]![0]!.GetValue<string>(), Does.Contain("echo").And.Contain("sleep"));

        using var http = CreateHttpClient(Api.BaseAddress!);
        var jobs = JsonNode.Parse(await http.GetStringAsync(new Uri("/jobs", UriKind.Relative)))!.AsArray();
        Assert.That(jobs.Select(j => j!["name"]!.GetValue<string>()), Is.SupersetOf(new[] { "echo", "fail", "sleep" }));
    }

    [Test]
    public async Task Maintenance_jobs_cannot_be_scheduled_and_named_job_args_are_checked_with_bounds()
    {
        // Retention is maintenance: not listed, not schedulable through the API or an adapter.
        using var http = CreateHttpClient(Api.BaseAddress!);
        var jobs = JsonNode.Parse(await http.GetStringAsync(new Uri("/jobs", UriKind.Relative)))!.AsArray();
        Assert.That(jobs.Select(j => j!["name"]!.GetValue<string>()), Does.Not.Contain("retention"));
        var sleep = jobs.Single(j => j!["name"]!.GetValue<string>() == "sleep")!;
        Assert.That(sleep["args"]![0]!["max"]!.GetValue<double>(), Is.EqualTo(3600), "GET /jobs shows each argument's bounds");

        var before = await TestDatabase.CountsAsync();
        var (status, problem) = await Client.CreateSchedule(Json("""
            {"schedule_type": "IMMEDIATE", "job_name": "retention", "args": {"older_than_days": 0}}
            """)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), problem?.ToJsonString());
        Assert.That(problem!["errors"]!.AsObject().Select(e => e.Key), Does.Contain("job_name"));
        var (rpc, _, refused) = await CompatClient.SendAsync(http, HttpMethod.Post, "/api/tasks.create",
            """{"name": "wipe", "job_name": "retention", "recurring_interval": "ONE_OFF", "recurring_details": "{\"day_of_month\":\"*\", \"day_of_week\":\"*\", \"month_of_year\":\"*\", \"minute\":\"*\", \"hour\":\"*\"}"}""");
        Assert.That(rpc, Is.EqualTo(HttpStatusCode.BadRequest), refused?.ToJsonString());
        Assert.That(refused!["error"]!.GetValue<string>(), Does.Contain("'retention' is not a named job"), "refused for its job, not its timing");
        var (frappe, text, _) = await CompatClient.SendAsync(http, HttpMethod.Post, "/frappe/add_request", """{"method": "retention", "data": {"older_than_days": 0}}""");
        Assert.That(frappe, Is.EqualTo(HttpStatusCode.ExpectationFailed), text);

        // Each job's args are checked against what it declares: type, bounds, unknown names.
        foreach (var (json, field) in new[]
        {
            ("""{"job_name": "sleep", "args": {"seconds": -1}}""", "args.seconds"),
            ("""{"job_name": "sleep", "args": {"seconds": 1e12}}""", "args.seconds"),
            ("""{"job_name": "sleep", "args": {"seconds": "5"}}""", "args.seconds"),
            ("""{"job_name": "sleep", "args": {"secs": 5}}""", "args.secs"),
            ("""{"job_name": "sleep", "args": [5]}""", "args"),
            ("""{"job_name": "fail", "args": {"message": 42}}""", "args.message"),
        })
        {
            var (bad, badProblem) = await Client.CreateSchedule(Json($$"""{"schedule_type": "IMMEDIATE", {{json[1..]}}""")).ReadAsync();
            Assert.That(bad, Is.EqualTo(HttpStatusCode.BadRequest), json);
            Assert.That(badProblem!["errors"]!.AsObject().Select(e => e.Key), Does.Contain(field), badProblem.ToJsonString());
        }
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo(before), "nothing written");

        // An update's args are checked against the schedule's job too.
        var id = await Client.CreateScheduleAsync("""{"schedule_type": "ONCE", "run_at": "+1d", "job_name": "sleep", "args": {"seconds": 2}}""");
        var (update, updateProblem) = await Client.UpdateSchedule(id, Json("""{"args": {"seconds": -5}}""")).ReadAsync();
        Assert.That(update, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(updateProblem!["errors"]!.AsObject().Select(e => e.Key), Does.Contain("args.seconds"));
    }

    [Test]
    public async Task Calls_are_signed_with_the_targets_secret_and_the_signature_verifies()
    {
        const string secret = "a-target-secret-0123456789";
        var (status, target) = await Client.CreateTarget(Json($$$"""
            {"name": "signed", "url": "{{{Target.Url("/signed")}}}", "method": "POST", "signing_secret": "{{{secret}}}",
             "body_template": "{\"run\": {{run_id}}, \"schedule\": {{schedule_id}}, \"due\": \"{{due_at}}\", \"key\": \"{{idempotency_key}}\"}"}
            """)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), target?.ToJsonString());
        Assert.That(target!["signing_secret"]!.GetValue<string>(), Is.EqualTo("***"), "a secret is never shown");

        var id = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target_id": {{{target["id"]}}}}""");
        var run = await Client.WaitForFinishedRunAsync(id, Seconds(30));
        var request = Target.ReceivedOn("/signed").Single();

        // The body template's placeholders were filled in.
        var body = JsonNode.Parse(request.Body)!;
        Assert.That(body["run"]!.GetValue<long>(), Is.EqualTo(run["id"]!.GetValue<long>()));
        Assert.That(body["schedule"]!.GetValue<long>(), Is.EqualTo(id));
        Assert.That(body["due"]!.GetValue<DateTimeOffset>(), Is.EqualTo(run.Time("due_at")));
        Assert.That(body["key"]!.GetValue<string>(), Is.EqualTo(request.Header("Idempotency-Key")));

        // docs/signing.md: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
        var signature = request.Header("Scheduler-Signature")!;
        var parts = signature.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{parts["t"]}.{request.Body}")));
        Assert.That(parts["v1"], Is.EqualTo(expected));
        var signedAt = DateTimeOffset.FromUnixTimeSeconds(long.Parse(parts["t"], CultureInfo.InvariantCulture));
        Assert.That((request.ArrivedAt - signedAt).Duration(), Is.LessThan(TimeSpan.FromMinutes(1)));
    }

    [Test]
    public async Task A_finished_run_can_be_retried_by_hand_and_the_attempt_is_recorded_as_manual()
    {
        Target.Respond("/later", TestTarget.Sequence(TestTarget.Status(404), TestTarget.Status(200)));
        var id = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/later")}}}"}}""");
        var failed = await Client.WaitForFinishedRunAsync(id, Seconds(30));
        Assert.That(failed.Status(), Is.EqualTo("FAILED"));

        using var http = CreateHttpClient(Api.BaseAddress!);
        var runId = failed["id"]!.GetValue<long>();
        using var retry = await http.PostAsync(new Uri($"/runs/{runId}/retry", UriKind.Relative), null);
        Assert.That(retry.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await retry.Content.ReadAsStringAsync());
        var run = await Eventually.ValueAsync(async () =>
        {
            var detail = (await Client.GetRun(runId).ReadAsync()).Body!;
            return detail.Status() == "SUCCESS" ? detail : null;
        }, Seconds(30), "the manual attempt");
        Assert.That(run["attempts"]!.AsArray().Select(a => (a!["attempt_number"]!.GetValue<int>(), a["manual"]!.GetValue<bool>(), a.Status())),
            Is.EqualTo(new[] { (1, false, "FAILED"), (2, true, "SUCCESS") }));

        using var again = await http.PostAsync(new Uri($"/runs/{runId}/retry", UriKind.Relative), null);
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "a succeeded run may be run again too");
        using var missing = await http.PostAsync(new Uri("/runs/999999/retry", UriKind.Relative), null);
        Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task The_dashboards_requeue_makes_a_manual_attempt()
    {
        var id = await Client.CreateScheduleAsync("""{"schedule_type": "IMMEDIATE", "job_name": "echo", "args": {"n": 1}}""");
        var run = await Client.WaitForFinishedRunAsync(id, Seconds(30));
        using var dashboard = await DashboardBrowser.SignInAsync(Api.BaseAddress!, TestKeys.Admin);
        var jobId = run["hangfire_job_id"]!.GetValue<string>();
        await Eventually.UntilAsync(async () => (await dashboard.Http.GetStringAsync(new Uri("/hangfire/jobs/succeeded", UriKind.Relative))).Contains($"Run #{run["id"]}", StringComparison.Ordinal),
            Seconds(30), "the job to be succeeded");

        using var requeue = await dashboard.PostWithTokenAsync("/hangfire/jobs/succeeded/requeue", ("jobs[]", jobId));
        Assert.That(requeue.IsSuccessStatusCode, Is.True);
        var again = await Eventually.ValueAsync(async () =>
        {
            var detail = (await Client.GetRun(run["id"]!.GetValue<long>()).ReadAsync()).Body!;
            return detail["attempt_count"]!.GetValue<int>() == 2 && detail.Status() == "SUCCESS" ? detail : null;
        }, Seconds(30), "the requeued attempt");
        Assert.That(again["attempts"]![1]!["manual"]!.GetValue<bool>(), Is.True);
        Assert.That(again["remarks"]!.AsArray().Select(r => r!.GetValue<string>()), Has.Some.StartsWith("Manual retry requested from the dashboard"));
    }
}
