using System.Collections.Concurrent;
using Npgsql;

namespace Scheduler.Tests.EndToEnd;

/// <summary>Many workers and a database restart: nothing acknowledged is lost, and no occurrence runs twice.</summary>
[Category("Chaos")]
// It restarts the PostgreSQL server every fixture shares.
[NonParallelizable]
public sealed class ChaosTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    protected override IReadOnlyDictionary<string, string> Settings => ShortLease.Settings(
        ("Execution__CircuitBreakerEnabled", "false"),
        ("Reconciliation__Grace", "00:00:02"));

    [Test]
    public async Task Three_workers_run_2000_immediate_runs_and_50_one_second_schedules_with_no_occurrence_twice()
    {
        for (var i = 0; i < 3; i++)
        {
            await StartWorkerForTestAsync();
        }
        var recurring = new List<long>();
        for (var i = 0; i < 50; i++)
        {
            recurring.Add(await Client.CreateScheduleAsync($$$"""
                {"schedule_type": "INTERVAL", "interval_seconds": 1, "overlap_policy": "ALLOW", "target": {"url": "{{{Target.Url("/tick")}}}"}}
                """));
        }
        var started = TimeProvider.System.GetUtcNow();
        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/burst")}}}"}}"""));
        await Eventually.UntilAsync(() => TimeProvider.System.GetUtcNow() > started.AddSeconds(20), Seconds(60), "20 seconds of ticks");
        foreach (var id in recurring)
        {
            await Client.PauseSchedule(id).ReadAsync();
        }
        await Eventually.UntilAsync(async () => await TestDatabase.ScalarAsync<long>(
            $"SELECT count(*) FROM scheduler.runs WHERE status IN ({Sql.UnfinishedRuns})") == 0, Seconds(180), "every run to finish");

        var runs = await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.runs");
        var succeeded = await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.runs WHERE status = 'SUCCESS'");
        var calls = Target.ReceivedOn("/burst").Concat(Target.ReceivedOn("/tick")).ToList();
        var twice = calls.GroupBy(c => c.Header("Idempotency-Key")).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        await TestContext.Out.WriteLineAsync($"{runs} runs, {succeeded} succeeded, {calls.Count} calls, {twice.Count} keys called twice.");
        Assert.Multiple(() =>
        {
            Assert.That(Target.ReceivedOn("/burst").Select(c => c.Header("Idempotency-Key")).Distinct().Count(), Is.EqualTo(2000));
            Assert.That(twice, Is.Empty, "no occurrence executed twice (no worker was killed)");
            Assert.That(succeeded, Is.EqualTo(runs));
            Assert.That(calls, Has.Count.EqualTo((int)runs));
            Assert.That(Target.ReceivedOn("/tick").Count / 50.0, Is.GreaterThanOrEqualTo(15), "each 1-second schedule ran about 20 times");
        });
    }

    [Test]
    public async Task A_database_restart_under_load_loses_no_acknowledged_run_and_the_api_never_answers_500()
    {
        if (PostgresServer.Current is not { } postgres || postgres.Description.StartsWith("SCHEDULER_TEST_DATABASE", StringComparison.Ordinal))
        {
            Assert.Ignore("Needs a PostgreSQL the tests started (and can restart).");
            return;
        }
        await StartWorkerForTestAsync();
        await StartWorkerForTestAsync();
        Target.Respond("/steady", TestTarget.Slow(TimeSpan.FromMilliseconds(100)));

        var acknowledged = new ConcurrentBag<long>();
        var statuses = new ConcurrentDictionary<HttpStatusCode, int>();
        using var stop = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var (status, body) = await Client.CreateSchedule(Json($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/steady")}}}"}}""")).ReadAsync();
                    statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                    if (status == HttpStatusCode.Created)
                    {
                        acknowledged.Add(body!["id"]!.GetValue<long>());
                    }
                }
                catch (HttpRequestException)
                {
                    statuses.AddOrUpdate(0, 1, (_, n) => n + 1);
                }
            }
        });
        await Eventually.UntilAsync(() => acknowledged.Count >= 30, Seconds(30), "load to build up");
        await postgres.RestartAsync();
        NpgsqlConnection.ClearAllPools();
        var afterRestart = acknowledged.Count;
        await Eventually.UntilAsync(() => acknowledged.Count >= afterRestart + 30, Seconds(60), "the API to acknowledge again after the restart");
        await stop.CancelAsync();
        await load;

        // Runs the API committed while Hangfire's tables were unreachable are enqueued by reconciliation.
        var ids = string.Join(",", acknowledged);
        await Eventually.UntilAsync(async () =>
        {
            using var http = CreateHttpClient(Api.BaseAddress!);
            await http.PostAsync(new Uri("/reconcile", UriKind.Relative), null);
            return await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM scheduler.runs WHERE schedule_id IN ({ids}) AND status = 'SUCCESS'") == acknowledged.Count;
        }, Seconds(120), "every acknowledged run to succeed");

        await TestContext.Out.WriteLineAsync($"{acknowledged.Count} acknowledged; answers: {string.Join(", ", statuses.Select(s => $"{(int)s.Key}×{s.Value}"))}");
        Assert.That(statuses.Keys.Where(s => (int)s >= 500 && s != HttpStatusCode.ServiceUnavailable), Is.Empty, "no 5xx but 503");
        Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(DISTINCT schedule_id) FROM scheduler.runs WHERE schedule_id IN ({ids})"), Is.EqualTo(acknowledged.Count));
    }
}
