using System.Globalization;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// Hangfire's states follow the runs (issue #19): a job whose run ended unsuccessfully is Failed with the run's
/// error, stays on the Failed page until the run moves on, and a requeue there retries only its failed runs.
/// </summary>
public sealed class DeadLetterTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        // These tests fail on purpose against one host: no circuit breaking here.
        ["Execution__CircuitBreakerEnabled"] = "false",
        // Reconciliation runs when a test asks (POST /reconcile), not on its own.
        ["Reconciliation__Cron"] = "",
    };

    [Test]
    public async Task A_404_fails_its_job_with_the_runs_error_and_a_requeue_on_the_failed_page_makes_one_manual_attempt()
    {
        Target.Respond("/gone", TestTarget.Status(404, "no such thing"));
        var run = await Client.WaitForFinishedRunAsync(
            await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/gone")}}}"}}"""), Seconds(30));
        var runId = run["id"]!.GetValue<long>();
        var jobId = run["hangfire_job_id"]!.GetValue<string>();
        Assert.That((run.Status(), run["attempt_count"]!.GetValue<int>()), Is.EqualTo(("FAILED", 1)));

        await WaitForJobStateAsync(jobId, "Failed");
        var reason = await ReasonAsync(jobId, "Failed");
        Assert.Multiple(() =>
        {
            Assert.That(reason, Does.StartWith($"Run #{runId} ended FAILED after attempt 1 of "));
            Assert.That(reason, Does.Contain("http_4xx, HTTP 404 Not Found (expected a 2xx status)."));
            Assert.That(reason, Does.Contain($"/hangfire/runs/{runId}").And.Contain($"GET /runs/{runId}"));
        });
        // Kept (no expiry) and not retried by Hangfire: one Processing state, the job's only execution.
        Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM hangfire.job WHERE id = {jobId} AND expireat IS NULL"), Is.EqualTo(1));
        Assert.That(await StatesAsync(jobId, "Processing"), Is.EqualTo(1));

        using var dashboard = await DashboardBrowser.SignInAsync(Api.BaseAddress!, TestKeys.Admin);
        var failedPage = await dashboard.Http.GetStringAsync(new Uri("/hangfire/jobs/failed", UriKind.Relative));
        Assert.That(failedPage, Does.Contain($"Run #{runId}").And.Contain("HTTP 404 Not Found"));

        // The target is fixed; the operator requeues the job on the Failed page.
        Target.Respond("/gone", TestTarget.Status(200, "back"));
        using (var requeue = await dashboard.PostWithTokenAsync("/hangfire/jobs/failed/requeue", ("jobs[]", jobId)))
        {
            Assert.That(requeue.IsSuccessStatusCode, Is.True, $"{requeue.StatusCode}");
        }
        await WaitForJobStateAsync(jobId, "Succeeded");
        var again = (await Client.GetRun(runId).ReadAsync()).Body!;
        Assert.Multiple(() =>
        {
            Assert.That(again.Status(), Is.EqualTo("SUCCESS"));
            Assert.That(again["attempts"]!.AsArray().Select(a => (a!["attempt_number"]!.GetValue<int>(), a["manual"]!.GetValue<bool>(), a.Status())),
                Is.EqualTo(new[] { (1, false, "FAILED"), (2, true, "SUCCESS") }));
            Assert.That(Target.ReceivedOn("/gone"), Has.Count.EqualTo(2));
        });
        Assert.That(await StatesAsync(jobId, "Processing"), Is.EqualTo(2), "the first execution and the requeued one");
    }

    [Test]
    public async Task Requeueing_a_batch_job_where_5_of_50_interval_runs_failed_retries_only_those_5()
    {
        Target.Respond("/ok", TestTarget.Status(200));
        Target.Respond("/bad", TestTarget.Status(404));
        // Fifty hourly schedules due at the same instant: the dispatcher hands their runs to one job.
        var startAt = DateTimeOffset.UtcNow.AddSeconds(4).ToUnixTimeSeconds();
        var items = string.Join(", ", Enumerable.Range(0, 50).Select(i => $$$"""
            {"schedule_type": "INTERVAL", "interval_seconds": 3600, "start_at": {{{startAt}}}, "name": "s{{{i}}}",
             "target": {"url": "{{{Target.Url(i % 10 == 3 ? "/bad" : "/ok")}}}"}}
            """));
        var (status, body) = await Client.CreateSchedules(Json($$"""{"schedules": [{{items}}]}""")).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), body?.ToJsonString());

        await Eventually.UntilAsync(async () => await TestDatabase.ScalarAsync<long>(
            "SELECT count(*) FROM scheduler.runs WHERE status IN ('SUCCESS', 'FAILED')") == 50, Seconds(60), "the 50 runs to finish");
        var failedIds = await RunIdsAsync("status = 'FAILED'");
        Assert.That(failedIds, Has.Count.EqualTo(5));
        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(DISTINCT hangfire_job_id) FROM scheduler.runs"), Is.EqualTo(1), "one batch job");
        var jobId = await TestDatabase.ScalarAsync<string>("SELECT min(hangfire_job_id) FROM scheduler.runs");

        await WaitForJobStateAsync(jobId, "Failed");
        var reason = await ReasonAsync(jobId, "Failed");
        Assert.That(reason, Does.StartWith("5 of 50 runs ended unsuccessfully: "));
        foreach (var id in failedIds)
        {
            Assert.That(reason, Does.Contain($"#{id} FAILED after attempt 1 of "));
        }

        Target.Respond("/bad", TestTarget.Status(200));
        using var dashboard = await DashboardBrowser.SignInAsync(Api.BaseAddress!, TestKeys.Admin);
        using (var requeue = await dashboard.PostWithTokenAsync("/hangfire/jobs/failed/requeue", ("jobs[]", jobId)))
        {
            Assert.That(requeue.IsSuccessStatusCode, Is.True, $"{requeue.StatusCode}");
        }
        await WaitForJobStateAsync(jobId, "Succeeded");
        Assert.Multiple(async () =>
        {
            Assert.That(await RunIdsAsync("attempt_count = 2 AND status = 'SUCCESS'"), Is.EqualTo(failedIds), "the 5 failed runs, retried");
            Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.attempts WHERE manual"), Is.EqualTo(5));
            Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.runs WHERE attempt_count = 1 AND status = 'SUCCESS'"), Is.EqualTo(45),
                "the 45 successful runs of the batch, left alone");
            Assert.That(Target.ReceivedOn("/ok"), Has.Count.EqualTo(45));
            Assert.That(Target.ReceivedOn("/bad"), Has.Count.EqualTo(10));
        });
    }

    [Test]
    public async Task A_bulk_requeue_of_several_failed_jobs_gives_each_failed_run_one_manual_attempt()
    {
        Target.Respond("/down", TestTarget.Status(404));
        var jobs = new List<(long Run, string Job)>();
        for (var i = 0; i < 3; i++)
        {
            var run = await Client.WaitForFinishedRunAsync(
                await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/down")}}}"}}"""), Seconds(30));
            jobs.Add((run["id"]!.GetValue<long>(), run["hangfire_job_id"]!.GetValue<string>()));
        }
        foreach (var (_, job) in jobs)
        {
            await WaitForJobStateAsync(job, "Failed");
        }

        Target.Respond("/down", TestTarget.Status(200));
        using var dashboard = await DashboardBrowser.SignInAsync(Api.BaseAddress!, TestKeys.Admin);
        using (var requeue = await dashboard.PostWithTokenAsync("/hangfire/jobs/failed/requeue", jobs.Select(j => ("jobs[]", j.Job)).ToArray()))
        {
            Assert.That(requeue.IsSuccessStatusCode, Is.True, $"{requeue.StatusCode}");
        }
        foreach (var (_, job) in jobs)
        {
            await WaitForJobStateAsync(job, "Succeeded");
        }
        Assert.That(await RunIdsAsync("status = 'SUCCESS' AND attempt_count = 2"), Is.EqualTo(jobs.Select(j => j.Run).ToList()));
        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.attempts WHERE manual"), Is.EqualTo(3));
    }

    [Test]
    public async Task A_failed_attempt_with_a_retry_leaves_its_job_succeeded_saying_when_the_next_attempt_is()
    {
        Target.Respond("/flaky", TestTarget.Sequence(TestTarget.Status(503), TestTarget.Status(200)));
        var run = await Client.WaitForFinishedRunAsync(await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "retry": {"max_attempts": 2, "initial_interval_seconds": 1}, "target": {"url": "{{{Target.Url("/flaky")}}}"}}
            """), Seconds(30));
        var runId = run["id"]!.GetValue<long>();
        Assert.That((run.Status(), run["attempt_count"]!.GetValue<int>()), Is.EqualTo(("SUCCESS", 2)));

        var note = await Eventually.ValueAsync(() => TestDatabase.ScalarOrNullAsync<string>(
            $"SELECT reason FROM hangfire.state WHERE name = 'Succeeded' AND reason LIKE 'Run #{runId} attempt%'"), Seconds(30), "the first job's reason");
        var retryAt = run["attempts"]![1]!.Time("started_at");
        Assert.That(note, Does.StartWith($"Run #{runId} attempt 1 of 2 failed (http_5xx, HTTP 503 Service Unavailable").And.Contains("); next attempt at "));
        var announced = DateTimeOffset.Parse(note![(note.IndexOf("next attempt at ", StringComparison.Ordinal) + 16)..].TrimEnd('.'), CultureInfo.InvariantCulture);
        Assert.That(announced, Is.LessThanOrEqualTo(retryAt), "the second attempt started no sooner than announced");
        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM hangfire.job WHERE statename = 'Failed'"), Is.Zero);
    }

    [Test]
    public async Task A_failed_job_stays_on_the_failed_page_until_its_run_is_retried_elsewhere()
    {
        Target.Respond("/gone", TestTarget.Status(404));
        var run = await Client.WaitForFinishedRunAsync(
            await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/gone")}}}"}}"""), Seconds(30));
        var runId = run["id"]!.GetValue<long>();
        var jobId = run["hangfire_job_id"]!.GetValue<string>();
        await WaitForJobStateAsync(jobId, "Failed");

        // Nothing moved: reconciliation leaves the dead letter where it is.
        using (var reconcile = await Client.Reconcile())
        {
            Assert.That(reconcile.IsSuccessStatusCode, Is.True);
        }
        Assert.That(await JobStateAsync(jobId), Is.EqualTo("Failed"));

        Target.Respond("/gone", TestTarget.Status(200));
        using var http = CreateHttpClient(Api.BaseAddress!);
        using (var retry = await http.PostAsync(new Uri($"/runs/{runId}/retry", UriKind.Relative), null))
        {
            Assert.That(retry.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        }
        await Eventually.UntilAsync(async () => (await Client.GetRun(runId).ReadAsync()).Body!.Status() == "SUCCESS", Seconds(30), "the retry to succeed");
        using (var reconcile = await Client.Reconcile())
        {
            Assert.That(reconcile.IsSuccessStatusCode, Is.True);
        }
        Assert.That(await JobStateAsync(jobId), Is.EqualTo("Deleted"));
        Assert.That(await ReasonAsync(jobId, "Deleted"), Does.StartWith($"Nothing left to retry: run #{runId} went on in job "));
    }

    private static Task<string> JobStateAsync(string jobId) => TestDatabase.ScalarAsync<string>($"SELECT statename FROM hangfire.job WHERE id = {jobId}");

    private static Task WaitForJobStateAsync(string jobId, string state) =>
        Eventually.UntilAsync(async () => await JobStateAsync(jobId) == state, Seconds(30), $"job {jobId} to be {state}");

    private static Task<string> ReasonAsync(string jobId, string state) =>
        TestDatabase.ScalarAsync<string>($"SELECT reason FROM hangfire.state WHERE jobid = {jobId} AND name = '{state}' ORDER BY id DESC LIMIT 1");

    private static Task<long> StatesAsync(string jobId, string state) =>
        TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM hangfire.state WHERE jobid = {jobId} AND name = '{state}'");

    private static async Task<List<long>> RunIdsAsync(string where)
    {
        var ids = await TestDatabase.ScalarAsync<string>($"SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM scheduler.runs WHERE {where}");
        return ids.Length == 0 ? [] : ids.Split(',').Select(id => long.Parse(id, CultureInfo.InvariantCulture)).ToList();
    }
}
