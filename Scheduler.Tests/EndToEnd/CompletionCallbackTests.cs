using System.Net.Http.Headers;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// Long-running endpoints (issue #23): a <c>"completion": "callback"</c> target answers 202, the run is WAITING,
/// and the target completes it later with the token it was sent (POST /runs/{id}/complete), or it times out.
/// </summary>
public sealed class CompletionCallbackTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Execution__CallbackInitialIntervalSeconds"] = "1",
        ["Execution__CircuitBreakerEnabled"] = "false",
    };

    // Each test starts its worker, told where the API is (the completion URL it sends).
    protected override bool StartsWorker => false;

    private Task<SchedulerProcess> StartWorkerAsync() => StartWorkerForTestAsync(new Dictionary<string, string>(Settings)
    {
        ["Api__PublicBaseUrl"] = Api.BaseAddress!.ToString(),
    });

    [Test]
    public async Task A_202_makes_the_run_WAITING_and_the_completion_with_its_token_ends_it_SUCCESS_with_output_and_callback_even_after_a_worker_crash()
    {
        var worker = await StartWorkerAsync();
        Target.Respond("/export", TestTarget.Status(202, "accepted"));
        var id = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "callback_url": "{{{Target.Url("/cb")}}}",
             "target": {"url": "{{{Target.Url("/export")}}}", "method": "POST", "completion": "callback"}}
            """);
        var run = await WaitForStatusAsync(id, "WAITING");
        var runId = run["id"]!.GetValue<long>();
        var request = Target.ReceivedOn("/export").Single();
        var token = request.Header("X-Scheduler-Completion-Token")!;
        Assert.Multiple(() =>
        {
            Assert.That(request.Header("X-Scheduler-Completion-Url"), Is.EqualTo(new Uri(Api.BaseAddress!, $"runs/{runId}/complete").ToString()));
            Assert.That(token, Has.Length.EqualTo(43), "32 random bytes, base64url");
            Assert.That(run["status_code"]!.GetValue<int>(), Is.EqualTo(202));
            Assert.That(run["completion_deadline_at"], Is.Not.Null);
        });
        // No worker holds it, and the token itself is nowhere in the database.
        Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM scheduler.runs WHERE id = {runId} AND lease_owner IS NULL"), Is.EqualTo(1));
        Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM scheduler.attempts WHERE run_id = {runId} AND length(completion_token_hash) = 32"), Is.EqualTo(1));

        // The state is in the database: a worker that dies meanwhile loses nothing.
        worker.Kill();
        await StartWorkerAsync();

        using var anonymous = CreateHttpClient(Api.BaseAddress!, key: null);
        const string body = """{"status": "success", "message": "exported", "output": {"rows": 42, "file": "s3://bucket/export.csv"}}""";
        Assert.That((await Complete(anonymous, runId, null, body)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "no token");
        Assert.That((await Complete(anonymous, runId, "not-the-token", body)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "a wrong token");
        Assert.That((await Complete(anonymous, runId, token, """{"status": "done"}""")).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "a bad status");
        Assert.That((await GetRunAsync(runId)).Status(), Is.EqualTo("WAITING"), "refusals change nothing");

        using (var accepted = await Complete(anonymous, runId, token, body))
        {
            Assert.That(accepted.StatusCode, Is.EqualTo(HttpStatusCode.OK), await accepted.Content.ReadAsStringAsync());
        }
        run = await WaitForStatusAsync(id, "SUCCESS");
        Assert.Multiple(() =>
        {
            Assert.That(run["output"]!["rows"]!.GetValue<int>(), Is.EqualTo(42));
            Assert.That(run["completion_message"]!.GetValue<string>(), Is.EqualTo("exported"));
            Assert.That(run["attempt_count"]!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(run["attempts"]!.AsArray().Select(a => a!.Status()), Is.EqualTo(new[] { "SUCCESS" }));
        });
        var callback = (await Target.WaitForAsync("/cb", 1, Seconds(30))).Single();
        var payload = JsonNode.Parse(callback.Body)!;
        Assert.Multiple(() =>
        {
            Assert.That(payload["status"]!.GetValue<string>(), Is.EqualTo("SUCCESS"));
            Assert.That(payload["output"]!["file"]!.GetValue<string>(), Is.EqualTo("s3://bucket/export.csv"));
        });

        // Single use: the same token again, or a heartbeat with it, is a conflict and changes nothing.
        Assert.That((await Complete(anonymous, runId, token, """{"status": "failure"}""")).StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That((await Heartbeat(anonymous, runId, token)).StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That((await GetRunAsync(runId)).Status(), Is.EqualTo("SUCCESS"));
        Assert.That(Target.ReceivedOn("/cb"), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task No_completion_within_5_s_ends_the_attempt_completion_timeout_and_the_retry_policy_applies_and_an_old_attempts_token_is_refused()
    {
        await StartWorkerAsync();
        var (id, first, firstToken) = await StartWaitingRunAsync("/report", timeoutSeconds: 5);
        var runId = first["id"]!.GetValue<long>();

        // The first attempt times out; the retry calls again and waits with a new token.
        await Target.WaitForAsync("/report", 2, Seconds(60));
        var second = await WaitForStatusAsync(id, "WAITING", attempts: 2);
        var secondToken = Target.ReceivedOn("/report")[1].Header("X-Scheduler-Completion-Token")!;
        Assert.That(secondToken, Is.Not.EqualTo(firstToken));
        Assert.That(second["attempts"]![0]!["error_type"]!.GetValue<string>(), Is.EqualTo("completion_timeout"));

        using var anonymous = CreateHttpClient(Api.BaseAddress!, key: null);
        Assert.That((await Complete(anonymous, runId, firstToken, """{"status": "success"}""")).StatusCode, Is.EqualTo(HttpStatusCode.Conflict), "an old attempt's token");
        Assert.That((await GetRunAsync(runId)).Status(), Is.EqualTo("WAITING"));

        // The last attempt times out too: the run ends TIMEOUT, completion_timeout.
        var run = await WaitForStatusAsync(id, "TIMEOUT", attempts: 2);
        Assert.Multiple(() =>
        {
            Assert.That(run["error_type"]!.GetValue<string>(), Is.EqualTo("completion_timeout"));
            Assert.That(run["attempts"]!.AsArray().Select(a => a!["error_type"]!.GetValue<string>()), Is.EqualTo(new[] { "completion_timeout", "completion_timeout" }));
        });
        Assert.That(Target.ReceivedOn("/report"), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task A_reported_failure_is_retried_and_a_heartbeat_moves_the_deadline()
    {
        await StartWorkerAsync();
        var (id, run, token) = await StartWaitingRunAsync("/ml", timeoutSeconds: 600);
        var runId = run["id"]!.GetValue<long>();
        using var anonymous = CreateHttpClient(Api.BaseAddress!, key: null);

        var before = run.Time("completion_deadline_at");
        using (var heartbeat = await Heartbeat(anonymous, runId, token))
        {
            Assert.That(heartbeat.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            var deadline = JsonNode.Parse(await heartbeat.Content.ReadAsStringAsync())!.Time("completion_deadline_at");
            Assert.That(deadline, Is.GreaterThan(before));
            Assert.That((await GetRunAsync(runId)).Time("completion_deadline_at"), Is.EqualTo(deadline));
        }

        Assert.That((await Complete(anonymous, runId, token, """{"status": "failure", "message": "out of memory"}""")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await Target.WaitForAsync("/ml", 2, Seconds(60));
        await WaitForStatusAsync(id, "WAITING", attempts: 2);
        var retryToken = Target.ReceivedOn("/ml")[1].Header("X-Scheduler-Completion-Token")!;
        Assert.That((await Complete(anonymous, runId, retryToken, """{"status": "success"}""")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        run = await WaitForStatusAsync(id, "SUCCESS", attempts: 2);
        var attempts = run["attempts"]!.AsArray();
        Assert.Multiple(() =>
        {
            Assert.That(attempts.Select(a => a!.Status()), Is.EqualTo(new[] { "FAILED", "SUCCESS" }));
            Assert.That(attempts[0]!["error_type"]!.GetValue<string>(), Is.EqualTo("completion_failed"));
            Assert.That(attempts[0]!["error_message"]!.GetValue<string>(), Does.Contain("out of memory"));
        });
    }

    [Test]
    public async Task Bad_completion_settings_and_an_oversized_output_are_400s_naming_the_field()
    {
        var (status, problem) = await Client.CreateSchedule(Json($$$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/x")}}}", "completion": "later", "completion_timeout_seconds": 0}}
            """)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem!["errors"]!.AsObject().Select(e => e.Key), Is.SupersetOf(new[] { "target.completion", "target.completion_timeout_seconds" }));

        await StartWorkerAsync();
        var (_, run, token) = await StartWaitingRunAsync("/big", timeoutSeconds: 600);
        var runId = run["id"]!.GetValue<long>();
        using var anonymous = CreateHttpClient(Api.BaseAddress!, key: null);
        var huge = $$$"""{"status": "success", "output": {"blob": "{{{new string('x', 70 * 1024)}}}"}}""";
        using var refused = await Complete(anonymous, runId, token, huge);
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await refused.Content.ReadAsStringAsync(), Does.Contain("output"));
        Assert.That((await GetRunAsync(runId)).Status(), Is.EqualTo("WAITING"));
    }

    /// <summary>An IMMEDIATE schedule against a callback target at <paramref name="path"/> answering 202 (two attempts): its run once WAITING, and the token sent.</summary>
    private async Task<(long ScheduleId, JsonNode Run, string Token)> StartWaitingRunAsync(string path, int timeoutSeconds)
    {
        Target.Respond(path, TestTarget.Status(202));
        var id = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "retry": {"max_attempts": 2, "initial_interval_seconds": 1},
             "target": {"url": "{{{Target.Url(path)}}}", "completion": "callback", "completion_timeout_seconds": {{{timeoutSeconds}}}}}
            """);
        var run = await WaitForStatusAsync(id, "WAITING");
        return (id, run, Target.ReceivedOn(path).Single().Header("X-Scheduler-Completion-Token")!);
    }

    private static Task<HttpResponseMessage> Complete(HttpClient http, long runId, string? token, string body) =>
        Send(http, $"runs/{runId}/complete", token, Json(body));

    private static Task<HttpResponseMessage> Heartbeat(HttpClient http, long runId, string token) =>
        Send(http, $"runs/{runId}/heartbeat", token, null);

    private static Task<HttpResponseMessage> Send(HttpClient http, string path, string? token, HttpContent? content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return http.SendAsync(request);
    }

    private async Task<JsonNode> GetRunAsync(long runId)
    {
        var (status, run) = await Client.GetRun(runId).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        return run!;
    }

    /// <summary>Polls the schedule's run until it has the status (after this many attempts), and returns it with its attempts.</summary>
    private async Task<JsonNode> WaitForStatusAsync(long scheduleId, string status, int attempts = 1) =>
        await Eventually.ValueAsync(async () =>
        {
            var runs = await Client.RunsOfAsync(scheduleId);
            if (runs.SingleOrDefault() is not { } run || run.Status() != status || run["attempt_count"]!.GetValue<int>() != attempts)
            {
                return null;
            }
            return await GetRunAsync(run["id"]!.GetValue<long>());
        }, Seconds(60), $"the run of schedule {scheduleId} {status} after {attempts} attempt(s)");
}
