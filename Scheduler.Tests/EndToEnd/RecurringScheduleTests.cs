using Scheduler.Core.Model;

namespace Scheduler.Tests.EndToEnd;

/// <summary>INTERVAL, WINDOW and CRON schedules against a target that records arrival times.</summary>
public sealed class RecurringScheduleTests : SystemTestBase
{
    [Test]
    public async Task An_interval_of_1s_over_5s_gives_5_runs_none_early()
    {
        var id = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "INTERVAL", "interval_seconds": 1, "target": {"url": "{{{Target.Url("/tick")}}}"}}
            """);
        var started = TimeProvider.System.GetUtcNow();
        await Eventually.UntilAsync(() => TimeProvider.System.GetUtcNow() > started.AddSeconds(5), Seconds(10), "5 seconds to pass");
        await Client.PauseSchedule(id).ReadAsync();
        var runs = await Client.SettledRunsAsync(id, Seconds(20));

        var window = runs.Where(r => r.Time("due_at") < started.AddSeconds(5)).ToList();
        Assert.That(window, Has.Count.InRange(4, 6), string.Join(", ", runs.Select(r => r.Time("due_at").ToString("HH:mm:ss.fff", null))));
        AssertNoneEarly(runs, "/tick");
        // Whole seconds from the first: the anchor never drifts.
        var first = runs[0].Time("due_at");
        Assert.That(runs.Select(r => (r.Time("due_at") - first).Ticks % TimeSpan.TicksPerSecond), Is.All.Zero);
    }

    [Test]
    public async Task A_window_stops_itself_when_it_closes()
    {
        var (status, schedule) = await Client.CreateSchedule(Json($$$"""
            {"schedule_type": "WINDOW", "interval_seconds": 1, "duration_seconds": 3, "target": {"url": "{{{Target.Url("/window")}}}"}}
            """)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), schedule?.ToJsonString());
        var id = schedule!["id"]!.GetValue<long>();
        var end = schedule.Time("end_at");
        Assert.That(end, Is.EqualTo(schedule.Time("start_at").AddSeconds(3)));

        await Eventually.UntilAsync(async () => (await Client.GetSchedule(id).ReadAsync()).Body!.Status() == "STOPPED", Seconds(15), "the window to stop");
        var runs = await Client.SettledRunsAsync(id, Seconds(20));
        Assert.That(runs.Select(r => r.Time("due_at")), Is.EqualTo(new[] { 0, 1, 2 }.Select(s => schedule.Time("start_at").AddSeconds(s))));
        Assert.That(runs.Select(r => r.Status()), Is.All.EqualTo("SUCCESS"));
        Assert.That((await Client.GetSchedule(id).ReadAsync()).Body!["next_run_at"], Is.Null);
        AssertNoneEarly(runs, "/window");
    }

    [Test]
    public async Task Cron_with_seconds_fires_on_its_boundaries()
    {
        var id = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "CRON", "cron_expression": "*/2 * * * * *", "time_zone": "Europe/Berlin", "target": {"url": "{{{Target.Url("/cron")}}}"}}
            """);
        await Eventually.UntilAsync(async () => (await Client.RunsOfAsync(id)).Count(r => r.Status() == "SUCCESS") >= 3, Seconds(20), "three cron runs");
        await Client.PauseSchedule(id).ReadAsync();
        var runs = await Client.SettledRunsAsync(id, Seconds(20));
        Assert.That(runs.Select(r => r.Time("due_at")), Has.All.Matches<DateTimeOffset>(t => t.Second % 2 == 0 && t.Millisecond == 0 && t.Microsecond == 0));
        AssertNoneEarly(runs, "/cron");
    }

    [Test]
    public async Task A_preset_is_a_cron_expression_at_the_start_of_its_period()
    {
        var (status, schedule) = await Client.CreateSchedule(Json($$$"""
            {"schedule_type": "CRON", "cron_expression": "EVERY_HOUR", "target": {"url": "{{{Target.Url("/hourly")}}}"}}
            """)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), schedule?.ToJsonString());
        var next = schedule!.Time("next_run_at");
        Assert.That((next.Minute, next.Second, next.Millisecond), Is.EqualTo((0, 0, 0)));
        Assert.That(next, Is.GreaterThan(TimeProvider.System.GetUtcNow()).And.LessThanOrEqualTo(TimeProvider.System.GetUtcNow().AddHours(1)));
    }

    [Test]
    public async Task A_slow_run_makes_the_next_occurrence_skipped_with_the_reason()
    {
        Target.Respond("/slow", TestTarget.Slow(Seconds(2.5)));
        var id = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "INTERVAL", "interval_seconds": 1, "target": {"url": "{{{Target.Url("/slow")}}}"}}
            """);
        await Eventually.UntilAsync(async () => (await Client.RunsOfAsync(id)).Any(r => r.Status() == "SKIPPED"), Seconds(20), "a skipped run");
        await Client.PauseSchedule(id).ReadAsync();
        var skipped = (await Client.RunsOfAsync(id)).First(r => r.Status() == "SKIPPED");
        Assert.That(skipped["remarks"]![0]!.GetValue<string>(), Does.Match(@"Skipped: run \d+ was still going at this run's due time \(overlap SKIP\)\."));
        Assert.That(skipped["attempt_count"]!.GetValue<int>(), Is.Zero);
        Assert.That(Target.ReceivedOn("/slow").Select(r => r.Header("Idempotency-Key")), Does.Not.Contain(IdempotencyKey(id, skipped)));
    }

    [Test]
    public async Task Trigger_runs_a_schedule_once_now_and_delete_cancels_its_pending_runs()
    {
        var id = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "ONCE", "run_at": "+1h", "target": {"url": "{{{Target.Url("/manual")}}}"}}
            """);
        var (status, run) = await Client.TriggerSchedule(id).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), run?.ToJsonString());
        Assert.That(run!["trigger"]!.GetValue<string>(), Is.EqualTo("MANUAL"));
        var finished = await Client.WaitForFinishedRunAsync(id, Seconds(30));
        Assert.That((finished.Status(), finished["trigger"]!.GetValue<string>()), Is.EqualTo(("SUCCESS", "MANUAL")));
        Assert.That((await Client.GetSchedule(id).ReadAsync()).Body!.Status(), Is.EqualTo("ACTIVE"), "a manual run leaves the cadence alone");

        // A pending run (its worker away) is cancelled with the schedule.
        await TestDatabase.ExecuteAsync($"""
            INSERT INTO scheduler.runs (schedule_id, due_at, status, trigger, attempt_count, retry_requested, remarks, created_at, updated_at)
            VALUES ({id}, now() + interval '1 day', {Sql.Literal(RunStatus.Pending)}, {Sql.Literal(RunTrigger.Scheduled)}, 0, false, '{"{}"}', now(), now())
            """);
        Assert.That((await Client.DeleteSchedule(id).ReadAsync()).Status, Is.EqualTo(HttpStatusCode.NoContent));
        var cancelled = (await Client.RunsOfAsync(id)).Single(r => r.Status() == "CANCELLED");
        Assert.That(cancelled["remarks"]!.AsArray().Select(r => r!.GetValue<string>()), Has.Some.StartsWith("Cancelled: schedule"));
    }

    [Test]
    public async Task Runs_can_be_filtered_by_time_and_paged_with_a_cursor()
    {
        var id = await Client.CreateScheduleAsync($$$"""{"schedule_type": "INTERVAL", "interval_seconds": 1, "target": {"url": "{{{Target.Url("/page")}}}"}}""");
        await Eventually.UntilAsync(async () => (await Client.RunsOfAsync(id)).Count(r => r.Status() == "SUCCESS") >= 5, Seconds(20), "five runs");
        await Client.PauseSchedule(id).ReadAsync();
        var all = await Client.SettledRunsAsync(id, Seconds(20));

        var seen = new List<long>();
        string? cursor = "";
        while (cursor is not null)
        {
            var (status, page) = await Client.ListRuns(id, limit: 2, cursor: cursor).ReadAsync();
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK), page?.ToJsonString());
            seen.AddRange(page!["items"]!.AsArray().Select(r => r!["id"]!.GetValue<long>()));
            cursor = page["next_cursor"]?.GetValue<string>();
        }
        Assert.That(seen, Is.EqualTo(all.Select(r => r["id"]!.GetValue<long>()).Reverse()));

        var from = all[1].Time("due_at").ToString("O");
        var to = all[3].Time("due_at").ToString("O");
        var (_, between) = await Client.ListRuns(id, startTime: from, endTime: to).ReadAsync();
        Assert.That(between!.AsArray().Select(r => r!["id"]!.GetValue<long>()), Is.EquivalentTo(all.Skip(1).Take(3).Select(r => r["id"]!.GetValue<long>())));
    }

    [TestCase("""{"schedule_type": "INTERVAL", "target": {"url": "http://127.0.0.1:9/"}}""", "interval_seconds")]
    [TestCase("""{"schedule_type": "INTERVAL", "interval_seconds": 0, "target": {"url": "http://127.0.0.1:9/"}}""", "interval_seconds")]
    [TestCase("""{"schedule_type": "INTERVAL", "interval_seconds": 5, "duration_seconds": 10, "target": {"url": "http://127.0.0.1:9/"}}""", "duration_seconds")]
    [TestCase("""{"schedule_type": "WINDOW", "interval_seconds": 5, "target": {"url": "http://127.0.0.1:9/"}}""", "duration_seconds")]
    [TestCase("""{"schedule_type": "WINDOW", "interval_seconds": 5, "duration_seconds": 10, "end_at": "+1h", "target": {"url": "http://127.0.0.1:9/"}}""", "duration_seconds")]
    [TestCase("""{"schedule_type": "WINDOW", "interval_seconds": 5, "end_at": "2001-01-01T00:00:00Z", "target": {"url": "http://127.0.0.1:9/"}}""", "end_at")]
    [TestCase("""{"schedule_type": "CRON", "target": {"url": "http://127.0.0.1:9/"}}""", "cron_expression")]
    [TestCase("""{"schedule_type": "CRON", "cron_expression": "every tuesday", "target": {"url": "http://127.0.0.1:9/"}}""", "cron_expression")]
    [TestCase("""{"schedule_type": "CRON", "cron_expression": "0 * * * *", "time_zone": "Europe/Atlantis", "target": {"url": "http://127.0.0.1:9/"}}""", "time_zone")]
    [TestCase("""{"schedule_type": "CRON", "cron_expression": "0 * * * *", "interval_seconds": 3, "target": {"url": "http://127.0.0.1:9/"}}""", "interval_seconds")]
    [TestCase("""{"schedule_type": "ONCE", "run_at": "+1m", "cron_expression": "0 * * * *", "target": {"url": "http://127.0.0.1:9/"}}""", "cron_expression")]
    [TestCase("""{"schedule_type": "INTERVAL", "interval_seconds": 5, "overlap_policy": "QUEUE", "target": {"url": "http://127.0.0.1:9/"}}""", "overlap_policy")]
    [TestCase("""{"schedule_type": "INTERVAL", "interval_seconds": 5, "catch_up_policy": "SOME", "target": {"url": "http://127.0.0.1:9/"}}""", "catch_up_policy")]
    public async Task Bad_timing_is_a_400_naming_the_field(string json, string field)
    {
        var before = await TestDatabase.CountsAsync();
        var (status, problem) = await Client.CreateSchedule(Json(json)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), problem?.ToJsonString());
        Assert.That(problem!["errors"]!.AsObject().Select(e => e.Key), Does.Contain(field), problem.ToJsonString());
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo(before));
    }

    /// <summary>Every call reached the target at or after its run's due time.</summary>
    private void AssertNoneEarly(List<JsonNode> runs, string path)
    {
        var due = runs.ToDictionary(r => r["id"]!.ToString(), r => r.Time("due_at"));
        var received = Target.ReceivedOn(path);
        Assert.That(received, Is.Not.Empty);
        foreach (var request in received)
        {
            var runDue = due[request.Header("X-Scheduler-Run-Id")!];
            Assert.That(request.ArrivedAt, Is.GreaterThanOrEqualTo(runDue), $"run {request.Header("X-Scheduler-Run-Id")} arrived {(request.ArrivedAt - runDue).TotalMilliseconds:0.000} ms after due");
        }
    }

    private static string IdempotencyKey(long scheduleId, JsonNode run) =>
        $"{scheduleId}:{run.Time("due_at").UtcDateTime:yyyy-MM-ddTHH:mm:ss.ffffff}Z";
}
