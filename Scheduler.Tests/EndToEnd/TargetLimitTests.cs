using Microsoft.AspNetCore.Http;
using Scheduler.Core.Model;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// A target's rate_limit_per_second and max_concurrency hold across two worker processes together (their state
/// is in PostgreSQL), a killed worker's slot frees itself with its lease, and a host's default from
/// Outbound:HostLimits applies to the targets on it that set none.
/// </summary>
[Category("Chaos")]
public sealed class TargetLimitTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    // A job per run, so both workers take some; a killed worker's lease and job come back within seconds.
    // The test target listens on 127.0.0.1: its host has a default concurrency of 1, which the targets that
    // set their own limits do not use.
    protected override IReadOnlyDictionary<string, string> Settings => ShortLease.Settings(
        ("Scheduling__MaxRunsPerJob", "1"),
        ("Outbound__HostLimits__127.0.0.1__MaxConcurrency", "1"));

    [Test]
    public async Task Twenty_immediate_runs_against_five_a_second_take_turns_across_two_workers_and_none_is_early()
    {
        await StartWorkerForTestAsync();
        await StartWorkerForTestAsync();
        var target = await CreateTargetAsync("/rate", rate: 5, concurrency: 100);

        var schedules = await CreateImmediateSchedulesAsync(target, 20);
        var runs = await SettledRunsAsync(schedules);

        var arrivals = Target.ReceivedOn("/rate").Select(r => r.ArrivedAt).Order().ToList();
        var due = runs.Min(r => r.Time("due_at"));
        await TestContext.Out.WriteLineAsync($"Calls arrived {string.Join(", ", arrivals.Select(a => $"{(a - due).TotalSeconds:0.000}"))} s after the due time; " +
            $"the closest six within {ClosestSix(arrivals).TotalMilliseconds:0} ms (load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}).");
        Assert.Multiple(() =>
        {
            Assert.That(runs.Select(r => r.Status()), Is.All.EqualTo("SUCCESS"), string.Join(Environment.NewLine, runs.Select(r => r.ToJsonString())));
            Assert.That(arrivals, Has.Count.EqualTo(20), "one call per run");
            // Each call takes a turn 200 ms after the previous one's (by the database's clock, shared by both
            // workers), none before the runs were due, and starts no earlier than its turn. So the k-th call
            // reaches the target no earlier than k × 200 ms after the due time: never more than five a second
            // from the start. (1 ms for the clocks' granularity: the API's due time and the target's arrival
            // time are read in other processes.) A call can still come later than its turn, by its worker's
            // timer and the way to the target: on this shared machine that is up to a few hundred ms, so calls
            // that came late may arrive close to the next ones; the output shows the closest six.
            for (var k = 0; k < arrivals.Count; k++)
            {
                Assert.That(arrivals[k], Is.GreaterThanOrEqualTo(due + TimeSpan.FromMilliseconds((200 * k) - 1)), $"call {k + 1} came before its turn");
            }
            Assert.That(runs.Select(r => r.Time("started_at") - r.Time("due_at")), Is.All.GreaterThanOrEqualTo(TimeSpan.Zero), "none early");
            // Twenty turns 200 ms apart: the last call starts at least 3.8 s after the due time, and its lateness says so.
            Assert.That(runs.Max(r => r["lateness_ms"]!.GetValue<double>()), Is.GreaterThanOrEqualTo(3799), "lateness is real");
            // Most runs waited for their turn (those that came when the turn was free did not), and say so.
            Assert.That(runs.Count(r => Remarks(r).Any(m => m.StartsWith("Waited ", StringComparison.Ordinal))), Is.GreaterThanOrEqualTo(10), "the runs that waited say why");
            Assert.That(runs.SelectMany(Remarks), Is.All.Matches("^Waited [0-9.]+ s for its turn under the rate limit of 5 a second \\(target [0-9]+\\) before attempt 1 began its call\\.$"));
        });
        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(DISTINCT worker) FROM scheduler.attempts"), Is.EqualTo(2), "both workers executed runs");
    }

    [Test]
    public async Task Ten_runs_against_two_slots_never_have_more_than_two_in_flight_and_a_killed_worker_does_not_keep_its_slot()
    {
        var inFlight = new InFlight(Seconds(1));
        Target.Respond("/slots", inFlight.HandleAsync);
        var workers = new[] { await StartWorkerForTestAsync(), await StartWorkerForTestAsync() };
        var target = await CreateTargetAsync("/slots", rate: null, concurrency: 2);

        var schedules = await CreateImmediateSchedulesAsync(target, 10);
        await Target.WaitForAsync("/slots", 3, Seconds(60));
        // Kill a worker that holds a slot now, mid-call.
        var holder = await Eventually.ValueAsync(() => TestDatabase.ScalarAsync<string>($"""
            SELECT COALESCE((SELECT s.worker FROM scheduler.limit_slots s JOIN scheduler.runs r ON r.id = s.run_id AND r.lease_owner = s.worker
                             WHERE r.status = {Sql.Literal(RunStatus.Running)} LIMIT 1), '')
            """).ContinueWith(t => t.Result.Length == 0 ? null : t.Result, TaskScheduler.Default), Seconds(30), "a worker holding a slot");
        var killed = workers.Single(w => holder.Contains($":{w.Id}:", StringComparison.Ordinal));
        killed.Kill();

        var runs = await SettledRunsAsync(schedules);
        Assert.Multiple(() =>
        {
            Assert.That(runs.Select(r => r.Status()), Is.All.EqualTo("SUCCESS"), string.Join(Environment.NewLine, runs.Select(r => r.ToJsonString())));
            Assert.That(inFlight.Most, Is.EqualTo(2), "two calls at once, never more");
            Assert.That(runs.SelectMany(r => r["attempts"]!.AsArray()).Select(a => a!["status"]!.GetValue<string>()), Has.Some.EqualTo("LOST"), "the killed worker's run was taken over");
        });

        // The killed worker's slot came free with its lease: two calls run at once again.
        inFlight.Reset();
        runs = await SettledRunsAsync(await CreateImmediateSchedulesAsync(target, 2));
        Assert.That(runs.Select(r => r.Status()), Is.All.EqualTo("SUCCESS"));
        Assert.That(inFlight.Most, Is.EqualTo(2), "both slots are free again");
    }

    [Test]
    public async Task A_turn_far_off_is_waited_for_in_the_scheduled_set_and_one_past_max_delay_is_skipped()
    {
        await StartWorkerForTestAsync();
        var target = await CreateTargetAsync("/slow-rate", rate: 0.2, concurrency: 100);

        var schedules = await CreateImmediateSchedulesAsync(target, 3);
        // Once the three have taken their turns (0, 5 and 10 s on), a fourth may start no later than 2 s after it is due.
        await Eventually.UntilAsync(async () => await TestDatabase.ScalarAsync<bool>(
            "SELECT COALESCE((SELECT next_call_at > now() + interval '9 s' FROM scheduler.limit_rates), false)"), Seconds(60), "three turns taken");
        var late = await CreateSchedulesAsync($$"""{"schedule_type": "IMMEDIATE", "target_id": {{target}}, "max_delay_seconds": 2}""");
        var runs = await SettledRunsAsync(schedules);
        var skipped = (await SettledRunsAsync(late)).Single();

        var arrivals = Target.ReceivedOn("/slow-rate").Select(r => r.ArrivedAt).Order().ToList();
        var due = runs.Min(r => r.Time("due_at"));
        Assert.Multiple(() =>
        {
            Assert.That(runs.Select(r => r.Status()), Is.All.EqualTo("SUCCESS"), string.Join(Environment.NewLine, runs.Select(r => r.ToJsonString())));
            Assert.That(arrivals, Has.Count.EqualTo(3), "one call per run, none for the skipped one");
            for (var k = 0; k < arrivals.Count; k++)
            {
                Assert.That(arrivals[k], Is.GreaterThanOrEqualTo(due + TimeSpan.FromMilliseconds((5000 * k) - 1)), $"call {k + 1} came before its turn");
            }
            // The third turn was 10 s off: the run waited in Hangfire's scheduled set, then for the rest of its turn.
            Assert.That(runs.SelectMany(Remarks), Has.Some.Matches("^Waited (9|10|11)\\.[0-9]+ s for its turn under the rate limit of 0.2 a second"), "the long wait is in the remark");
            Assert.That(runs.Max(r => r["lateness_ms"]!.GetValue<double>()), Is.GreaterThanOrEqualTo(9999), "lateness is real");
            Assert.That(skipped.Status(), Is.EqualTo("SKIPPED"), skipped.ToJsonString());
            Assert.That(Remarks(skipped), Has.Some.StartsWith("Skipped: its target's rate limit (0.2 a second, target"), skipped.ToJsonString());
        });
    }

    [Test]
    public async Task A_hosts_default_limit_applies_to_its_targets_that_set_none()
    {
        var inFlight = new InFlight(Seconds(1));
        Target.Respond("/host", inFlight.HandleAsync);
        await StartWorkerForTestAsync();
        await StartWorkerForTestAsync();

        var items = string.Join(", ", Enumerable.Range(0, 3).Select(_ => $$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/host")}}}"}}"""));
        var runs = await SettledRunsAsync(await CreateSchedulesAsync(items));

        Assert.Multiple(() =>
        {
            Assert.That(runs.Select(r => r.Status()), Is.All.EqualTo("SUCCESS"));
            Assert.That(inFlight.Most, Is.EqualTo(1), "Outbound:HostLimits:127.0.0.1:MaxConcurrency is 1");
            Assert.That(runs.SelectMany(Remarks), Has.Some.Contains("max_concurrency 1 (the default of host 127.0.0.1)"));
        });
    }

    private async Task<long> CreateTargetAsync(string path, double? rate, int? concurrency)
    {
        var limits = new JsonObject { ["name"] = $"limited{path.Replace('/', '-')}", ["url"] = Target.Url(path), ["rate_limit_per_second"] = rate, ["max_concurrency"] = concurrency };
        var (status, body) = await Client.CreateTarget(Json(limits.ToJsonString())).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), body?.ToJsonString());
        return body!["id"]!.GetValue<long>();
    }

    private Task<List<long>> CreateImmediateSchedulesAsync(long target, int count) =>
        CreateSchedulesAsync(string.Join(", ", Enumerable.Range(0, count).Select(_ => $$"""{"schedule_type": "IMMEDIATE", "target_id": {{target}}}""")));

    // One request for all: the runs are due together and compete for the limit.
    private async Task<List<long>> CreateSchedulesAsync(string items)
    {
        var (status, body) = await Client.CreateSchedules(Json($$"""{"schedules": [{{items}}]}""")).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), body?.ToJsonString());
        return body!["schedules"]!.AsArray().Select(s => s!["id"]!.GetValue<long>()).ToList();
    }

    private async Task<List<JsonNode>> SettledRunsAsync(List<long> schedules)
    {
        await Eventually.UntilAsync(async () => await TestDatabase.ScalarAsync<long>($"""
            SELECT count(*) FROM scheduler.runs WHERE schedule_id IN ({string.Join(", ", schedules)}) AND status NOT IN ({Sql.UnfinishedRuns})
            """) == schedules.Count, Seconds(90), "the runs to finish");
        var runs = new List<JsonNode>();
        foreach (var schedule in schedules)
        {
            var run = (await Client.RunsOfAsync(schedule)).Single();
            runs.Add((await Client.GetRun(run["id"]!.GetValue<long>()).ReadAsync()).Body!);
        }
        return runs;
    }

    /// <summary>The shortest time in which six of the calls came (sorted times).</summary>
    private static TimeSpan ClosestSix(List<DateTimeOffset> times) =>
        Enumerable.Range(0, Math.Max(0, times.Count - 5)).Select(i => times[i + 5] - times[i]).DefaultIfEmpty(TimeSpan.MaxValue).Min();

    private static IEnumerable<string> Remarks(JsonNode run) => run["remarks"]!.AsArray().Select(r => r!.GetValue<string>());

    /// <summary>A slow endpoint that counts the calls in flight at once (an aborted call ends when its caller dies).</summary>
    private sealed class InFlight(TimeSpan delay)
    {
        private readonly Func<HttpContext, Task> _slow = TestTarget.Slow(delay);
        private int _now;
        private int _most;

        public int Most => Volatile.Read(ref _most);

        public void Reset() => Volatile.Write(ref _most, 0);

        public async Task HandleAsync(HttpContext context)
        {
            var now = Interlocked.Increment(ref _now);
            for (var most = Most; now > most && Interlocked.CompareExchange(ref _most, now, most) != most; most = Most)
            {
            }
            try
            {
                await _slow(context);
            }
            finally
            {
                Interlocked.Decrement(ref _now);
            }
        }
    }
}
