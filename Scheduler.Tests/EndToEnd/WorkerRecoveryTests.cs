using Scheduler.Core.Model;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// Acknowledged runs survive workers that are absent or killed: queued runs wait for a worker, and a run
/// whose worker died mid-call is taken over once its lease and Hangfire's invisibility run out.
/// </summary>
[Category("Chaos")]
public sealed class WorkerRecoveryTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    // Fifty calls in flight in one worker.
    protected override IReadOnlyDictionary<string, string> Settings => ShortLease.Settings(("Hangfire__WorkerCount", "60"));

    private const int LeaseSeconds = ShortLease.LeaseSeconds;

    [Test]
    public async Task Runs_queued_while_no_worker_runs_are_executed_when_a_worker_starts()
    {
        // Servers left registered by workers of earlier tests would count as running.
        await TestDatabase.ExecuteAsync("DELETE FROM hangfire.server");
        var ids = await CreateImmediateSchedulesAsync("/queued", 10);
        var (_, health) = await Client.GetHealth().ReadAsync();
        Assert.That(health!["scheduler_running"]!.GetValue<bool>(), Is.False);
        Assert.That(await TestDatabase.ScalarAsync<int>($"SELECT count(*) FROM scheduler.runs WHERE status = {Sql.Literal(RunStatus.Pending)}"), Is.EqualTo(10));
        Assert.That(Target.ReceivedOn("/queued"), Is.Empty);

        await StartWorkerForTestAsync();

        var runs = await WaitForAllFinishedAsync(ids, TimeSpan.FromSeconds(60));
        Assert.That(runs.Select(r => r["status"]!.GetValue<string>()), Is.All.EqualTo("SUCCESS"));
        Assert.That(Target.ReceivedOn("/queued").Select(r => r.Header("Idempotency-Key")).Distinct().Count(), Is.EqualTo(10));
        (_, health) = await Client.GetHealth().ReadAsync();
        Assert.That(health!["scheduler_running"]!.GetValue<bool>(), Is.True);
    }

    [Test]
    public async Task A_worker_killed_with_50_calls_in_flight_loses_nothing_and_recovers_them_within_the_lease()
    {
        Target.Respond("/slow", TestTarget.Slow(TimeSpan.FromSeconds(3)));
        var first = await StartWorkerForTestAsync();
        var ids = await CreateImmediateSchedulesAsync("/slow", 50);
        await Target.WaitForAsync("/slow", 50, TimeSpan.FromSeconds(30));

        first.Kill();
        var killedAt = TimeProvider.System.GetUtcNow();
        Assert.That(await TestDatabase.ScalarAsync<int>($"SELECT count(*) FROM scheduler.runs WHERE status = {Sql.Literal(RunStatus.Running)}"), Is.EqualTo(50));

        var second = await StartWorkerForTestAsync();
        var runs = await WaitForAllFinishedAsync(ids, TimeSpan.FromSeconds(90));
        var recovery = await TestDatabase.ScalarAsync<DateTime>("SELECT max(completed_at) FROM scheduler.runs") - killedAt.UtcDateTime;
        await TestContext.Out.WriteLineAsync(
            $"Recovered all 50 runs; the last completed {recovery.TotalSeconds:0.0} s after SIGKILL (lease {LeaseSeconds} s, Hangfire invisibility 8 s, call 3 s).");
        Assert.That(recovery.TotalSeconds, Is.LessThanOrEqualTo(LeaseSeconds + 10), "recovered within the lease plus 10 s");

        foreach (var run in runs)
        {
            var attempts = run["attempts"]!.AsArray();
            Assert.Multiple(() =>
            {
                Assert.That(run["status"]!.GetValue<string>(), Is.EqualTo("SUCCESS"), run.ToJsonString());
                Assert.That(attempts, Has.Count.EqualTo(2));
                Assert.That(attempts[0]!["status"]!.GetValue<string>(), Is.EqualTo("LOST"));
                Assert.That(attempts[0]!["error_type"]!.GetValue<string>(), Is.EqualTo("worker_lost"));
                Assert.That(attempts[1]!["status"]!.GetValue<string>(), Is.EqualTo("SUCCESS"));
                Assert.That(attempts[1]!["worker"]!.GetValue<string>(), Is.Not.EqualTo(attempts[0]!["worker"]!.GetValue<string>()));
                Assert.That(run["remarks"]!.AsArray().Select(r => r!.GetValue<string>()), Has.Some.StartsWith("Recovered: attempt 1 by"));
            });
        }
        // The worker that took the runs over counted the lost attempts and its own (a fresh process: from 0).
        using var metrics = new HttpClient { BaseAddress = second.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var scrape = PrometheusText.Parse(await metrics.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        Assert.That((scrape.Sum("scheduler_attempts_total", ("outcome", "LOST"), ("error_type", "worker_lost")), scrape.Sum("scheduler_attempts_total", ("outcome", "SUCCESS"))),
            Is.EqualTo((50.0, 50.0)));
        // Each occurrence reached the target once per attempt, always with the same key.
        var keys = Target.ReceivedOn("/slow").GroupBy(r => r.Header("Idempotency-Key")).ToList();
        Assert.That(keys, Has.Count.EqualTo(50));
        Assert.That(keys.Select(k => k.Count()), Is.All.EqualTo(2));
    }

    private async Task<List<long>> CreateImmediateSchedulesAsync(string path, int count)
    {
        var ids = new List<long>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url(path)}}}"}}"""));
        }
        return ids;
    }

    private async Task<List<JsonNode>> WaitForAllFinishedAsync(List<long> scheduleIds, TimeSpan timeout)
    {
        var runs = new List<JsonNode>();
        foreach (var id in scheduleIds)
        {
            runs.Add(await Client.WaitForFinishedRunAsync(id, timeout));
        }
        return runs;
    }
}
