using Scheduler.Core.Model;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// Each case breaks the state directly in the database the way a crash or a lost job would leave it, then
/// POST /reconcile repairs it, says what it did in a remark, and a worker finishes the work.
/// </summary>
[Category("Chaos")]
public sealed class ReconciliationTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        // Only on demand here; short thresholds so seeded breakage qualifies at once.
        ["Reconciliation__Cron"] = "",
        ["Reconciliation__Grace"] = "00:00:01",
        ["Reconciliation__StuckAfter"] = "00:00:05",
        ["Reconciliation__LeaseGrace"] = "00:00:00",
        ["Reconciliation__ScheduleBehind"] = "00:00:05",
        ["Execution__LeaseSeconds"] = "3",
        ["Execution__LeaseRenewalSeconds"] = "1",
        ["Hangfire__QueuePollInterval"] = "00:00:01",
        // Hangfire alone would take a killed worker's job back only after this.
        ["Hangfire__InvisibilityTimeout"] = "00:05:00",
    };

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Test]
    public async Task A_run_committed_but_never_enqueued_is_queued_and_a_second_pass_finds_nothing()
    {
        var scheduleId = await CreateImmediateAsync("/ok");
        await BreakAsync("""
            DELETE FROM hangfire.jobqueue; DELETE FROM hangfire.job;
            UPDATE scheduler.runs SET hangfire_job_id = NULL, due_at = due_at - interval '1 minute', created_at = created_at - interval '1 minute';
            """);

        var repair = await ReconcileOneAsync("never_enqueued");
        Assert.That(repair["remark"]!.GetValue<string>(), Does.Contain("never handed to a worker"));
        var second = await ReconcileAsync();
        Assert.That(second["repaired"]!.GetValue<int>(), Is.Zero, "a second pass finds nothing more to do");

        var run = await FinishWithWorkerAsync(scheduleId);
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
        Assert.That(Remarks(run), Has.Some.StartsWith("Reconciliation: committed but never handed to a worker"));
        Assert.That(run["hangfire_job_id"]!.GetValue<string>(), Is.Not.Null);
    }

    [Test]
    public async Task A_pending_run_whose_job_hangfire_believes_succeeded_is_queued_again()
    {
        var scheduleId = await CreateImmediateAsync("/ok");
        await BreakAsync("""
            WITH s AS (INSERT INTO hangfire.state (jobid, name, reason, createdat, data)
                       SELECT id, 'Succeeded', 'seeded by the test', now(), '{}' FROM hangfire.job RETURNING id, jobid)
            UPDATE hangfire.job j SET stateid = s.id, statename = 'Succeeded' FROM s WHERE j.id = s.jobid;
            DELETE FROM hangfire.jobqueue;
            UPDATE scheduler.runs SET due_at = due_at - interval '1 minute', created_at = created_at - interval '1 minute';
            """);

        var repair = await ReconcileOneAsync("job_finished");
        Assert.That(repair["remark"]!.GetValue<string>(), Does.Contain("ended (Succeeded)"));

        var run = await FinishWithWorkerAsync(scheduleId);
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
        Assert.That(Remarks(run), Has.Some.Contains("still PENDING").And.Some.Contains("ended (Succeeded)"));
    }

    [Test]
    public async Task A_failed_attempt_with_retries_left_but_no_scheduled_retry_is_retried()
    {
        Target.Respond("/flaky", TestTarget.Sequence(TestTarget.Status(500), TestTarget.Status(200)));
        await StartWorkerForTestAsync();
        var scheduleId = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "retry": {"max_attempts": 3, "initial_interval_seconds": 3600, "max_interval_seconds": 3600},
             "target": {"url": "{{{Target.Url("/flaky")}}}"}}
            """);
        await Eventually.UntilAsync(async () => await TestDatabase.ScheduledRetriesAsync(scheduleId) == 1, Deadline,
            "the first attempt to fail with a retry scheduled an hour away");
        // The retry's job is lost, and its time has come.
        await BreakAsync("""
            DELETE FROM hangfire.jobqueue WHERE jobid IN (SELECT hangfire_job_id::bigint FROM scheduler.runs);
            DELETE FROM hangfire.job WHERE id IN (SELECT hangfire_job_id::bigint FROM scheduler.runs);
            UPDATE scheduler.runs SET due_at = due_at - interval '2 minutes', created_at = created_at - interval '2 minutes', next_attempt_at = now() - interval '1 minute';
            """);

        var repair = await ReconcileOneAsync("retry_lost");
        Assert.That(repair["remark"]!.GetValue<string>(), Does.Contain("had a retry due at"));

        var run = await Client.WaitForFinishedRunAsync(scheduleId, Deadline);
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
        Assert.That(run["attempts"]!.AsArray().Select(a => a!["status"]!.GetValue<string>()), Is.EqualTo(new[] { "FAILED", "SUCCESS" }));
        Assert.That(Remarks(run), Has.Some.StartsWith("Reconciliation: a failed attempt had a retry due at"));
    }

    [Test]
    public async Task A_pending_run_whose_job_is_fetched_but_never_started_is_queued_again()
    {
        var scheduleId = await CreateImmediateAsync("/ok");
        // Plain Hangfire.PostgreSql's failure: the job row is held invisible (as a keep-alive would) and never starts.
        await BreakAsync("""
            UPDATE hangfire.jobqueue SET fetchedat = now() + interval '1 hour';
            UPDATE hangfire.job SET createdat = createdat - interval '1 minute';
            UPDATE scheduler.runs SET due_at = due_at - interval '1 minute', created_at = created_at - interval '1 minute';
            """);

        var repair = await ReconcileOneAsync("not_progressing");
        Assert.That(repair["remark"]!.GetValue<string>(), Does.Contain("stayed Enqueued"));
        var second = await ReconcileAsync();
        Assert.That(second["repaired"]!.GetValue<int>(), Is.Zero, "the job queued again has its own time to start");

        var run = await FinishWithWorkerAsync(scheduleId);
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
        Assert.That(Remarks(run), Has.Some.StartsWith("Reconciliation: still PENDING"));
    }

    [Test]
    public async Task A_running_run_whose_lease_expired_is_taken_over_before_hangfire_would_notice()
    {
        Target.Respond("/hang", TestTarget.Sequence(TestTarget.Slow(TimeSpan.FromSeconds(30)), TestTarget.Status(200)));
        var first = await StartWorkerForTestAsync();
        var scheduleId = await CreateImmediateAsync("/hang");
        await Target.WaitForAsync("/hang", 1, Deadline);
        first.Kill();
        // The lease (3 s) runs out; Hangfire keeps the job invisible for five minutes.
        await Eventually.UntilAsync(async () => await TestDatabase.ScalarAsync<long>(
            $"SELECT count(*) FROM scheduler.runs WHERE status = {Sql.Literal(RunStatus.Running)} AND lease_expires_at < now()") == 1, Deadline, "the lease to expire");

        var repair = await ReconcileOneAsync("lease_expired");
        Assert.That(repair["remark"]!.GetValue<string>(), Does.Contain("stopped renewing it"));

        var run = await FinishWithWorkerAsync(scheduleId);
        var attempts = run["attempts"]!.AsArray();
        Assert.Multiple(() =>
        {
            Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
            Assert.That(attempts.Select(a => a!["status"]!.GetValue<string>()), Is.EqualTo(new[] { "LOST", "SUCCESS" }));
            Assert.That(Remarks(run), Has.Some.StartsWith("Reconciliation: RUNNING under a lease that expired"));
            Assert.That(Remarks(run), Has.Some.StartsWith("Recovered: attempt 1"));
        });
    }

    [Test]
    public async Task An_active_schedule_with_no_next_occurrence_gets_one()
    {
        var scheduleId = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "INTERVAL", "interval_seconds": 60, "target": {"url": "{{{Target.Url("/ok")}}}"}}
            """);
        await BreakAsync("UPDATE scheduler.schedules SET next_run_at = NULL");

        var repair = await ReconcileOneAsync("next_run_missing");
        Assert.That(repair["schedule_id"]!.GetValue<long>(), Is.EqualTo(scheduleId));

        var (_, schedule) = await Client.GetSchedule(scheduleId).ReadAsync();
        Assert.That(schedule!["next_run_at"], Is.Not.Null);
        Assert.That(schedule["status"]!.GetValue<string>(), Is.EqualTo("ACTIVE"));
        Assert.That(Remarks(schedule), Has.Some.StartsWith("Reconciliation: the schedule was ACTIVE with no next occurrence"));
    }

    [Test]
    public async Task An_overdue_schedule_no_dispatcher_took_is_dispatched()
    {
        var scheduleId = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "INTERVAL", "interval_seconds": 3600, "target": {"url": "{{{Target.Url("/ok")}}}"}}
            """);
        // As if it had been created ten minutes ago and no worker has run since.
        await BreakAsync("""
            DELETE FROM hangfire.jobqueue; DELETE FROM hangfire.job; DELETE FROM scheduler.runs;
            UPDATE scheduler.schedules SET start_at = now() - interval '10 minutes', next_run_at = now() - interval '10 minutes';
            """);

        var repair = await ReconcileOneAsync("schedule_behind");
        Assert.That(repair["remark"]!.GetValue<string>(), Does.Contain("no dispatcher taking it"));
        var (_, schedule) = await Client.GetSchedule(scheduleId).ReadAsync();
        Assert.That(schedule!.Time("next_run_at"), Is.GreaterThan(DateTimeOffset.UtcNow), "the schedule moved on");
        Assert.That(Remarks(schedule!), Has.Some.StartsWith("Reconciliation: the next occurrence"));

        var run = await FinishWithWorkerAsync(scheduleId);
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
    }

    [Test]
    public async Task A_callback_delivery_left_pending_without_a_job_is_delivered()
    {
        await StartWorkerForTestAsync();
        var scheduleId = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "callback_url": "{{{Target.Url("/callback")}}}", "target": {"url": "{{{Target.Url("/ok")}}}"}}
            """);
        await Target.WaitForAsync("/callback", 1, Deadline);
        await Eventually.UntilAsync(async () => await TestDatabase.ScalarAsync<long>(
            "SELECT count(*) FROM scheduler.callback_deliveries WHERE status = 'DELIVERED'") == 1, Deadline, "the callback to be recorded delivered");
        // A worker died after committing the delivery and before enqueueing its job.
        await BreakAsync($"""
            DELETE FROM hangfire.jobqueue WHERE jobid IN (SELECT hangfire_job_id::bigint FROM scheduler.callback_deliveries);
            DELETE FROM hangfire.job WHERE id IN (SELECT hangfire_job_id::bigint FROM scheduler.callback_deliveries);
            UPDATE scheduler.callback_deliveries SET status = {Sql.Literal(DeliveryStatus.Pending)}, delivered_at = NULL, hangfire_job_id = NULL,
                   created_at = created_at - interval '1 minute', next_attempt_at = NULL;
            """);

        var repair = await ReconcileOneAsync("callback_stuck");
        Assert.That(repair["delivery_id"], Is.Not.Null);

        await Target.WaitForAsync("/callback", 2, Deadline);
        await Eventually.UntilAsync(async () => await TestDatabase.ScalarAsync<long>(
            "SELECT count(*) FROM scheduler.callback_deliveries WHERE status = 'DELIVERED'") == 1, Deadline, "the callback to be delivered again");
        var callbacks = Target.ReceivedOn("/callback");
        Assert.That(callbacks.Select(c => c.Header("Idempotency-Key")).Distinct().Count(), Is.EqualTo(1), "the redelivery carries the same key");
        var run = (await Client.RunsOfAsync(scheduleId)).Single();
        var (_, detail) = await Client.GetRun(run["id"]!.GetValue<long>()).ReadAsync();
        Assert.That(Remarks(detail!), Has.Some.StartsWith("Reconciliation: callback delivery"));
    }

    [Test]
    public async Task Two_passes_racing_repair_each_run_once_and_each_occurrence_runs_once()
    {
        var ids = new List<long>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add(await CreateImmediateAsync("/race"));
        }
        await BreakAsync("""
            DELETE FROM hangfire.jobqueue; DELETE FROM hangfire.job;
            UPDATE scheduler.runs SET hangfire_job_id = NULL, due_at = due_at - interval '1 minute', created_at = created_at - interval '1 minute';
            """);

        var passes = await Task.WhenAll(ReconcileAsync(), ReconcileAsync());
        var repaired = passes.SelectMany(p => p["repairs"]!.AsArray()).Select(r => r!["run_id"]!.GetValue<long>()).ToList();
        await TestContext.Out.WriteLineAsync($"Passes: {string.Join(", ", passes.Select(p => $"skipped={p["skipped"]} repaired={p["repaired"]}"))}");
        Assert.That(repaired, Has.Count.EqualTo(20).And.Unique, "every run repaired by exactly one pass");

        await StartWorkerForTestAsync();
        foreach (var id in ids)
        {
            Assert.That((await Client.WaitForFinishedRunAsync(id, Deadline)).Status(), Is.EqualTo("SUCCESS"));
        }
        var keys = Target.ReceivedOn("/race").GroupBy(r => r.Header("Idempotency-Key")).ToList();
        Assert.That(keys, Has.Count.EqualTo(20));
        Assert.That(keys.Select(k => k.Count()), Is.All.EqualTo(1), "no occurrence called twice");
        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.reconciliations"), Is.GreaterThanOrEqualTo(1));
    }

    /// <summary>An IMMEDIATE schedule whose run has its Hangfire job (so a test can then break the job).</summary>
    private async Task<long> CreateImmediateAsync(string path)
    {
        var id = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url(path)}}}"}}""");
        await TestDatabase.JobOfLatestRunAsync(id);
        return id;
    }

    private static Task BreakAsync(string sql) => TestDatabase.ExecuteAsync(sql);

    private async Task<JsonNode> ReconcileAsync()
    {
        var (status, body) = await Client.Reconcile().ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body?.ToJsonString());
        return body!;
    }

    /// <summary>Runs a pass and asserts it made exactly one repair, of this kind.</summary>
    private async Task<JsonNode> ReconcileOneAsync(string kind)
    {
        var report = await ReconcileAsync();
        var repairs = report["repairs"]!.AsArray();
        Assert.That(repairs.Select(r => r!["kind"]!.GetValue<string>()), Is.EqualTo(new[] { kind }), report.ToJsonString());
        Assert.That(report["repaired"]!.GetValue<int>(), Is.EqualTo(1));
        return repairs[0]!;
    }

    private async Task<JsonNode> FinishWithWorkerAsync(long scheduleId)
    {
        await StartWorkerForTestAsync();
        return await Client.WaitForFinishedRunAsync(scheduleId, Deadline);
    }

    private static List<string> Remarks(JsonNode node) => node["remarks"]!.AsArray().Select(r => r!.GetValue<string>()).ToList();
}

/// <summary>The reconciliation job runs by itself as a Hangfire recurring job and reports in /metrics.</summary>
[Category("Chaos")]
public sealed class RecurringReconciliationTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Reconciliation__Cron"] = "*/2 * * * * *",
        ["Reconciliation__Grace"] = "00:00:01",
        ["Hangfire__SchedulePollingInterval"] = "00:00:01",
    };

    [Test]
    public async Task The_recurring_job_repairs_a_lost_run_and_metrics_show_the_pass()
    {
        // Stop the dispatcher's and the worker's own paths from seeing the run: no job, and past its time.
        var scheduleId = await Client.CreateScheduleAsync($$$"""{"schedule_type": "ONCE", "run_at": "{{{DateTimeOffset.UtcNow.AddHours(1):O}}}", "target": {"url": "{{{Target.Url("/ok")}}}"}}""");
        await TestDatabase.ExecuteAsync($"""
            INSERT INTO scheduler.runs (schedule_id, due_at, status, trigger, attempt_count, remarks, retry_requested, created_at, updated_at)
            VALUES ({scheduleId}, now() - interval '1 minute', {Sql.Literal(RunStatus.Pending)}, {Sql.Literal(RunTrigger.Manual)}, 0, ARRAY[]::text[], false, now() - interval '1 minute', now())
            """);

        var run = await Client.WaitForFinishedRunAsync(scheduleId, TimeSpan.FromSeconds(60));
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
        Assert.That(run["remarks"]!.AsArray().Select(r => r!.GetValue<string>()), Has.Some.StartsWith("Reconciliation: committed but never handed to a worker"));
        // The pass records itself once it has looked at everything, which can be after the run ended.
        await Eventually.UntilAsync(async () => await TestDatabase.ScalarAsync<long>(
            "SELECT count(*) FROM scheduler.reconciliations WHERE trigger = 'recurring' AND repaired = 1") == 1, TimeSpan.FromSeconds(30), "the pass to be recorded");
        await Eventually.UntilAsync(async () => await TestDatabase.ScalarAsync<long>(
            "SELECT count(*) FROM hangfire.job WHERE statename = 'Succeeded' AND invocationdata::text LIKE '%ReconcileAsync%'") >= 1,
            TimeSpan.FromSeconds(30), "the recurring job in the dashboard's history (a succeeded Hangfire job)");

        var (_, metrics) = await Client.GetMetrics().ReadAsync();
        Assert.That(metrics!["last_reconciliation_at"], Is.Not.Null);
        Assert.That(metrics["reconciliation_repairs_last24h"]!.GetValue<long>(), Is.GreaterThanOrEqualTo(1));
    }
}
