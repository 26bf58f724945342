namespace Scheduler.Tests.EndToEnd;

/// <summary>Seed 001's README, step by step, through HTTP: its status codes and field names hold here.</summary>
public sealed class Seed001WalkthroughTests : SystemTestBase
{
    [Test]
    public async Task The_readme_walkthrough_works_as_written()
    {
        // 1. Create a Target
        var (status, target) = await Client.CreateTarget(Json($$$"""
            {"name": "httpbin-test", "url": "{{{Target.Url("/get")}}}", "method": "GET", "headers": {"User-Agent": "API-Scheduler/1.0"}}
            """)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), target?.ToJsonString());
        AssertFields(target!, "id", "name", "url", "method", "headers", "body_template", "timeout_seconds", "created_at", "updated_at");
        var targetId = target!["id"]!.GetValue<long>();

        // 2. Create a Schedule: interval (runs indefinitely) and window (runs for 5 minutes)
        (status, var interval) = await Client.CreateSchedule(Json($$$"""
            {"name": "every-30-seconds", "target_id": {{{targetId}}}, "schedule_type": "INTERVAL", "interval_seconds": 30}
            """)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), interval?.ToJsonString());
        AssertFields(interval!, "id", "name", "target_id", "schedule_type", "interval_seconds", "duration_seconds", "status", "created_at", "updated_at");
        Assert.That(interval!.Status(), Is.EqualTo("ACTIVE"));
        (status, var window) = await Client.CreateSchedule(Json($$$"""
            {"name": "5-minute-test", "target_id": {{{targetId}}}, "schedule_type": "WINDOW", "interval_seconds": 10, "duration_seconds": 300}
            """)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), window?.ToJsonString());
        Assert.That(window!["duration_seconds"]!.GetValue<int>(), Is.EqualTo(300));
        var scheduleId = interval!["id"]!.GetValue<long>();

        // 3. Pause/Resume Schedule
        (status, var paused) = await Client.PauseSchedule(scheduleId).ReadAsync();
        Assert.That((status, paused!.Status()), Is.EqualTo((HttpStatusCode.OK, "PAUSED")));
        (status, _) = await Client.PauseSchedule(scheduleId).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), "only an active schedule can be paused");
        (status, var resumed) = await Client.ResumeSchedule(scheduleId).ReadAsync();
        Assert.That((status, resumed!.Status()), Is.EqualTo((HttpStatusCode.OK, "ACTIVE")));
        (status, _) = await Client.ResumeSchedule(scheduleId).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), "only a paused schedule can be resumed");

        // 4. View Runs: both schedules ran at once (their first occurrence is their start)
        await Eventually.UntilAsync(async () => (await Client.RunsOfAsync(scheduleId)).Any(r => r.Status() == "SUCCESS"), Seconds(30), "the interval schedule's first run");
        (status, var all) = await Client.ListRuns().ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(all!.AsArray(), Has.Count.GreaterThanOrEqualTo(1));
        var (_, bySchedule) = await Client.ListRuns(scheduleId).ReadAsync();
        Assert.That(bySchedule!.AsArray().Select(r => r!["schedule_id"]!.GetValue<long>()), Is.All.EqualTo(scheduleId));
        var (_, successes) = await Client.ListRuns(statusFilter: "SUCCESS").ReadAsync();
        Assert.That(successes!.AsArray().Select(r => r!.Status()), Is.All.EqualTo("SUCCESS").And.Not.Empty);
        var runId = bySchedule.AsArray()[0]!["id"]!.GetValue<long>();
        (status, var run) = await Client.GetRun(runId).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        AssertFields(run!, "id", "schedule_id", "status", "started_at", "completed_at", "latency_ms", "status_code", "response_size_bytes", "error_type", "error_message", "attempts");
        Assert.That(Target.ReceivedOn("/get")[0].Header("User-Agent"), Is.EqualTo("API-Scheduler/1.0"));

        // 5. View Metrics
        (status, var metrics) = await Client.GetMetrics().ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), metrics?.ToJsonString());
        AssertFields(metrics!, "total_targets", "total_schedules", "active_schedules", "paused_schedules", "stopped_schedules",
            "total_runs", "runs_last_hour", "success_rate", "avg_latency_ms", "lateness_p50_ms_last_hour", "lateness_p99_ms_last_hour");
        Assert.That(metrics!["total_targets"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(metrics["total_schedules"]!.GetValue<int>(), Is.EqualTo(2));
        Assert.That(metrics["active_schedules"]!.GetValue<int>(), Is.EqualTo(2));
        Assert.That(metrics["success_rate"]!.GetValue<double>(), Is.EqualTo(100));
        (status, var perSchedule) = await Client.GetScheduleMetrics().ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        var first = perSchedule!.AsArray().Single(m => m!["schedule_id"]!.GetValue<long>() == scheduleId)!;
        AssertFields(first, "schedule_id", "schedule_name", "total_runs", "successful_runs", "failed_runs", "avg_latency_ms", "last_run_at", "lateness_p50_ms");
        Assert.That(first["schedule_name"]!.GetValue<string>(), Is.EqualTo("every-30-seconds"));
        Assert.That(first["successful_runs"]!.GetValue<long>(), Is.GreaterThanOrEqualTo(1));

        // Health
        (status, var health) = await Client.GetHealth().ReadAsync();
        Assert.That(health!.ToJsonString(), Is.EqualTo("""{"status":"healthy","scheduler_running":true}"""));

        // The rest of the endpoint summary: list, get, update, delete.
        Assert.That((await Client.ListTargets().ReadAsync()).Body!.AsArray(), Has.Count.EqualTo(1));
        (status, var renamed) = await Client.UpdateTarget(targetId, Json("""{"timeout_seconds": 12}""")).ReadAsync();
        Assert.That((status, renamed!["timeout_seconds"]!.GetValue<int>(), renamed["name"]!.GetValue<string>()), Is.EqualTo((HttpStatusCode.OK, 12, "httpbin-test")));
        (status, var updated) = await Client.UpdateSchedule(scheduleId, Json("""{"interval_seconds": 60}""")).ReadAsync();
        Assert.That((status, updated!["interval_seconds"]!.GetValue<int>()), Is.EqualTo((HttpStatusCode.OK, 60)));
        Assert.That((await Client.ListSchedules().ReadAsync()).Body!.AsArray(), Has.Count.EqualTo(2));
        (status, var problem) = await Client.DeleteTarget(targetId).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict), "a target in use is not deleted");
        Assert.That(problem!["detail"]!.GetValue<string>(), Does.Contain("used by schedule"));
        Assert.That((await Client.DeleteSchedule(scheduleId).ReadAsync()).Status, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That((await Client.DeleteSchedule(window["id"]!.GetValue<long>()).ReadAsync()).Status, Is.EqualTo(HttpStatusCode.NoContent));
        (status, problem) = await Client.GetSchedule(scheduleId).ReadAsync();
        Assert.That((status, problem!["detail"]!.GetValue<string>()), Is.EqualTo((HttpStatusCode.NotFound, $"Schedule {scheduleId} not found")));
        Assert.That((await Client.DeleteTarget(targetId).ReadAsync()).Status, Is.EqualTo(HttpStatusCode.NoContent));
        (status, problem) = await Client.GetTarget(targetId).ReadAsync();
        Assert.That((status, problem!["detail"]!.GetValue<string>()), Is.EqualTo((HttpStatusCode.NotFound, $"Target {targetId} not found")));
        // The history of a deleted schedule stays readable.
        Assert.That((await Client.RunsOfAsync(scheduleId)).Count, Is.GreaterThanOrEqualTo(1));
    }

    private static void AssertFields(JsonNode node, params string[] fields) =>
        Assert.That(node.AsObject().Select(p => p.Key), Is.SupersetOf(fields), node.ToJsonString());
}
