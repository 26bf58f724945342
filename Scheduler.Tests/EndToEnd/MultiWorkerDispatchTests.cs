namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// Several worker processes, each with its own dispatcher, on one database: every occurrence still makes
/// exactly one run and one call; and a worker restarted mid-window leaves the window's end where it was.
/// </summary>
public sealed class MultiWorkerDispatchTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    // A killed worker's jobs come back quickly; an occurrence 1 s overdue counts as missed.
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Hangfire__InvisibilityTimeout"] = "00:00:05",
        ["Execution__LeaseSeconds"] = "5",
        ["Execution__LeaseRenewalSeconds"] = "1",
        ["Scheduling__MisfireThreshold"] = "00:00:01",
        ["Scheduling__LeadTime"] = "00:00:00.500",
        // A job per run, so both workers take some (with batches one worker may take every job).
        ["Scheduling__MaxRunsPerJob"] = "1",
    };

    [Test]
    public async Task Two_workers_make_exactly_one_run_per_occurrence()
    {
        await StartWorkerForTestAsync();
        await StartWorkerForTestAsync();
        var ids = new List<long>();
        var created = TimeProvider.System.GetUtcNow();
        for (var i = 0; i < 10; i++)
        {
            // ALLOW: this test is about duplicates, so a slow first call (fresh processes) must not skip occurrences.
            ids.Add(await Client.CreateScheduleAsync($$$"""
                {"schedule_type": "INTERVAL", "interval_seconds": 1, "overlap_policy": "ALLOW", "target": {"url": "{{{Target.Url("/both")}}}"}}
                """));
        }
        var started = TimeProvider.System.GetUtcNow();
        await Eventually.UntilAsync(() => TimeProvider.System.GetUtcNow() > started.AddSeconds(6), Seconds(10), "6 seconds to pass");
        foreach (var id in ids)
        {
            await Client.PauseSchedule(id).ReadAsync();
        }
        var paused = TimeProvider.System.GetUtcNow();

        var runs = new List<JsonNode>();
        foreach (var id in ids)
        {
            runs.AddRange(await Client.SettledRunsAsync(id, Seconds(30)));
        }
        Assert.That(runs.Select(r => r.Status()), Is.All.EqualTo("SUCCESS"),
            string.Join(Environment.NewLine, runs.Select(r => $"{r["id"]} {r.Status()} due {r.Time("due_at"):HH:mm:ss.fff} started {r["started_at"]} completed {r["completed_at"]} {r["remarks"]?.ToJsonString()}")));
        // Each schedule fires once a second from its creation until its pause: about six, more on a slow machine.
        // The dispatcher makes runs up to its lead time (0.5 s) before they are due, so occurrences due within
        // 0.5 s after the pause have runs already.
        Assert.That(runs.Count / 10.0, Is.InRange(5, (paused - created).TotalSeconds + 1.5), "one run per occurrence between creation and pause, plus the lead time");
        var keys = Target.ReceivedOn("/both").GroupBy(r => r.Header("Idempotency-Key")).ToList();
        Assert.That(keys, Has.Count.EqualTo(runs.Count), "one call per run");
        Assert.That(keys.Where(k => k.Count() > 1).Select(k => k.Key), Is.Empty, "no occurrence called twice");
        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(DISTINCT worker) FROM scheduler.attempts"), Is.EqualTo(2), "both workers executed runs");
    }

    [TestCase("ONE")]
    [TestCase("ALL")]
    [TestCase("NONE")]
    public async Task A_worker_restarted_mid_window_ends_the_window_on_time_and_follows_the_catch_up_policy(string catchUp)
    {
        var worker = await StartWorkerForTestAsync();
        var (_, schedule) = await Client.CreateSchedule(SchedulerApiExtensions.Json($$$"""
            {"schedule_type": "WINDOW", "interval_seconds": 1, "duration_seconds": 15, "catch_up_policy": "{{{catchUp}}}",
             "target": {"url": "{{{Target.Url("/window")}}}"}}
            """)).ReadAsync();
        var id = schedule!["id"]!.GetValue<long>();
        var start = schedule.Time("start_at");
        var end = schedule.Time("end_at");

        await Eventually.UntilAsync(() => TimeProvider.System.GetUtcNow() > start.AddSeconds(2.2), Seconds(10), "two occurrences");
        worker.Kill();
        var killedAt = TimeProvider.System.GetUtcNow();
        await Eventually.UntilAsync(() => TimeProvider.System.GetUtcNow() > killedAt.AddSeconds(3.5), Seconds(10), "downtime");
        await StartWorkerForTestAsync();
        var restartedAt = TimeProvider.System.GetUtcNow();

        await Eventually.UntilAsync(async () => (await Client.GetSchedule(id).ReadAsync()).Body!.Status() == "STOPPED", Seconds(30), "the window to close");
        var runs = await Client.SettledRunsAsync(id, Seconds(30));
        var catchUps = runs.Where(r => r["trigger"]!.GetValue<string>() == "CATCH_UP").ToList();

        Assert.Multiple(() =>
        {
            Assert.That(runs.Select(r => r.Time("due_at")), Has.All.LessThan(end), "nothing runs at or after the window's end");
            Assert.That(runs.Max(r => r.Time("due_at")), Is.EqualTo(start.AddSeconds(14)), "the window ran to its last occurrence");
            // Once the new worker's dispatcher runs, occurrences are on time again.
            Assert.That(runs.Where(r => r.Time("due_at") > restartedAt.AddSeconds(1)).Select(r => r["trigger"]!.GetValue<string>()), Is.All.EqualTo("SCHEDULED"));
            switch (catchUp)
            {
                case "ONE":
                    Assert.That(catchUps, Has.Count.EqualTo(1), "the missed occurrences became one run");
                    Assert.That(catchUps[0]["remarks"]![0]!.GetValue<string>(), Does.Contain("catch-up ONE"));
                    break;
                case "ALL":
                    Assert.That(catchUps, Has.Count.GreaterThanOrEqualTo(2), "each missed occurrence ran");
                    Assert.That(runs.Select(r => r.Time("due_at")), Is.EqualTo(Enumerable.Range(0, 15).Select(s => start.AddSeconds(s))), "no occurrence lost");
                    break;
                default:
                    Assert.That(catchUps, Is.Empty);
                    break;
            }
        });
        if (catchUp == "NONE")
        {
            var (_, stopped) = await Client.GetSchedule(id).ReadAsync();
            Assert.That(stopped!["remarks"]!.AsArray().Select(r => r!.GetValue<string>()), Has.Some.Contains("(catch-up NONE)"));
        }
    }
}
