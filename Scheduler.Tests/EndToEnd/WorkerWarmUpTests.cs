using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// A worker's warm-up (WorkerRehearsal, WarmUp:Seconds): while a second Hangfire server runs calls of its own on a
/// database of its own, the worker's own server already takes jobs and /health/ready answers "warming up"; then it is
/// ready, and nothing of the warm-up is left: its database dropped, no row, Hangfire server, span or Scheduler metric
/// of it in the worker's.
/// </summary>
public sealed partial class WorkerWarmUpTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    protected override IReadOnlyDictionary<string, string> Settings => Otlp.Settings;

    /// <summary>What a warm-up left when a test failed (a worker drops its own).</summary>
    [TearDown]
    public Task DropWarmUpDatabasesAsync() => TestDatabase.DropRehearsalDatabasesAsync();

    [Test]
    public async Task A_worker_takes_jobs_while_it_warms_up_is_ready_after_and_the_warm_up_leaves_nothing_behind()
    {
        var mayCreate = await TestDatabase.ScalarAsync<bool>("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user");
        Assume.That(mayCreate, Is.True, "the warm-up needs a role that may create databases (without, ApiWarmUpTests shows the same fallback)");
        var worker = await StartWorkerForTestAsync(new Dictionary<string, string>(Settings) { ["WarmUp__Seconds"] = "30" });
        using var probe = new HttpClient { BaseAddress = worker.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };

        // Its own server takes a job as soon as it runs, while the warm-up goes on beside it.
        var scheduleId = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/during-warm-up")}}}"}}""");
        var run = await Client.WaitForFinishedRunAsync(scheduleId, Seconds(30));
        var (statusAfterRun, reasonAfterRun) = await ProbeAsync(probe);

        var answers = new List<string>();
        await Eventually.UntilAsync(async () =>
        {
            var (status, reason) = await ProbeAsync(probe);
            answers.Add(status == HttpStatusCode.OK ? "ready" : reason ?? status.ToString());
            return status == HttpStatusCode.OK;
        }, Seconds(90), "the worker to be ready");

        var warmedUp = worker.Lines.Select(l => WarmedUpLine().Match(l)).FirstOrDefault(m => m.Success);
        var attempt = await Otlp.WaitForAsync(s => s.Name == "run attempt" && s.Attribute("scheduler.run_id") == run["id"]!.ToJsonString(), "the real run's attempt span");
        using var metrics = await probe.GetAsync(new Uri("/metrics", UriKind.Relative));
        var scrape = PrometheusText.Parse(await metrics.Content.ReadAsStringAsync());
        Assert.Multiple(async () =>
        {
            Assert.That(run.Status(), Is.EqualTo("SUCCESS"), "the worker's own server ran the job");
            Assert.That((statusAfterRun, reasonAfterRun), Is.EqualTo((HttpStatusCode.ServiceUnavailable, WarmingUp)), "it did so while still warming up");
            Assert.That(answers.Last(), Is.EqualTo("ready"));
            Assert.That(warmedUp, Is.Not.Null, "the warm-up says what it did");
            Assert.That(long.Parse(warmedUp!.Groups["runs"].Value, CultureInfo.InvariantCulture), Is.GreaterThan(0), "runs of its own");
            Assert.That(warmedUp.Groups["outcome"].Value, Does.Match(@"^SUCCESS [1-9][0-9]*"), "most of them succeeded");
            Assert.That(warmedUp.Groups["dropped"].Value, Is.EqualTo("dropped"));
            Assert.That(warmedUp.Groups["name"].Value, Does.StartWith(await TestDatabase.RehearsalPrefixAsync()));
            Assert.That(await TestDatabase.RehearsalDatabasesAsync(), Has.No.Member(warmedUp.Groups["name"].Value), "its database dropped");
            Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo("targets=1 schedules=1 runs=1 attempts=1"), "Scheduler's tables hold the real run only");
            Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM hangfire.server WHERE id LIKE '%:warm-up:%'"), Is.Zero,
                "the warm-up's server is not among the worker's");
            Assert.That(attempt.Service, Is.EqualTo("scheduler-worker"));
            Assert.That(Otlp.Spans.Where(s => s.Name == "run attempt").Select(s => s.Attribute("scheduler.run_id")).Distinct(), Is.EqualTo(new[] { run["id"]!.ToJsonString() }),
                "no span of the warm-up's runs");
            Assert.That(Otlp.Spans.Where(s => s.Service == "scheduler-worker" && s.Kind == ExportedSpan.Client).Select(s => s.Attribute("server.port")).Distinct(),
                Is.EqualTo(new[] { Target.BaseAddress.Port.ToString(CultureInfo.InvariantCulture) }), "no span of its calls");
            Assert.That(scrape.Sum("scheduler_runs_completed_total"), Is.EqualTo(1), "only the real run in the worker's metrics");
        });
    }

    [Test]
    public async Task A_worker_stopped_during_its_warm_up_stops_at_once_and_drops_its_database()
    {
        Assume.That(await TestDatabase.ScalarAsync<bool>("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"), Is.True,
            "the warm-up needs a role that may create databases");
        await using var worker = await SchedulerProcess.StartWorkerAsync(new Dictionary<string, string>(Settings) { ["WarmUp__Seconds"] = "60" });
        await Eventually.UntilAsync(async () => (await TestDatabase.RehearsalDatabasesAsync()).Length > 0, Seconds(30), "the warm-up's database");

        worker.Terminate();
        var code = await worker.WaitForExitAsync(Seconds(30));

        Assert.Multiple(async () =>
        {
            Assert.That(code, Is.Zero, worker.Output);
            Assert.That(await TestDatabase.RehearsalDatabasesAsync(), Is.Empty, "its database dropped on the way out");
            Assert.That(worker.Lines, Has.None.Contains("The warm-up stopped"), "a stop is not a failure");
        });
    }

    private const string WarmingUp = "warming up: a second Hangfire server runs calls of its own on a database of its own (WarmUp:Seconds)";

    private static async Task<(HttpStatusCode Status, string? Reason)> ProbeAsync(HttpClient probe)
    {
        var (status, body) = await probe.GetAsync(new Uri("/health/ready", UriKind.Relative)).ReadAsync();
        return (status, body?["reason"]?.GetValue<string>());
    }

    [GeneratedRegex(@"Warmed up by rehearsal: (?<runs>\d+) runs of its own \((?<outcome>.*?); \d+ calls answered\) through a second Hangfire server on its own database (?<name>[a-z0-9_]+), (?<dropped>dropped|not dropped), in \d+ ms")]
    private static partial Regex WarmedUpLine();
}
