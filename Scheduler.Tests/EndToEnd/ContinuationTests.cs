namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// Continuations (issue #23): a schedule's <c>continuations</c> give another schedule one run (trigger
/// CONTINUATION, <c>parent_run_id</c>) when one of its runs finishes that way — once per finished run, through
/// worker crashes and reconciliation; cycles and unknown schedules are refused when written.
/// </summary>
public sealed class ContinuationTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => ShortLease.Settings(
        ("Execution__CircuitBreakerEnabled", "false"),
        ("Reconciliation__Grace", "00:00:01"));

    // Each test starts its workers (one of them kills them).
    protected override bool StartsWorker => false;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Test]
    public async Task Success_failure_and_any_continuations_fire_once_per_finished_run_and_a_retried_failure_only_at_its_end()
    {
        await StartWorkerForTestAsync();
        var onSuccess = await ChildAsync("/on-success");
        var onFailure = await ChildAsync("/on-failure");
        var onAny = await ChildAsync("/on-any");
        // Run 1 succeeds; run 2 fails twice (its last attempt); run 3 fails once, then succeeds on its retry.
        Target.Respond("/parent", TestTarget.Sequence(TestTarget.Status(200), TestTarget.Status(500), TestTarget.Status(500), TestTarget.Status(500), TestTarget.Status(200)));
        var parent = await Client.CreateScheduleAsync($$"""
            {"schedule_type": "ONCE", "run_at": "+2d", "retry": {"max_attempts": 2, "initial_interval_seconds": 1},
             "target": {"url": "{{Target.Url("/parent")}}"},
             "continuations": [{"when": "success", "schedule_id": {{onSuccess}}}, {"when": "failure", "schedule_id": {{onFailure}}},
                               {"when": "any", "schedule_id": {{onAny}}}]}
            """);
        var (_, schedule) = await Client.GetSchedule(parent).ReadAsync();
        Assert.That(schedule!["continuations"]!.ToJsonString(), Is.EqualTo(
            $$"""[{"when":"success","schedule_id":{{onSuccess}}},{"when":"failure","schedule_id":{{onFailure}}},{"when":"any","schedule_id":{{onAny}}}]"""));

        var parentRuns = new List<JsonNode>();
        foreach (var expected in new[] { "SUCCESS", "FAILED", "SUCCESS" })
        {
            var (status, triggered) = await Client.TriggerSchedule(parent).ReadAsync();
            Assert.That(status, Is.EqualTo(HttpStatusCode.Created), triggered?.ToJsonString());
            var run = await WaitForRunAsync(triggered!["id"]!.GetValue<long>(), r => r.Status() is not ("PENDING" or "RUNNING"));
            Assert.That(run.Status(), Is.EqualTo(expected));
            parentRuns.Add(run);
        }
        var (first, failed, retried) = (Id(parentRuns[0]), Id(parentRuns[1]), Id(parentRuns[2]));
        Assert.That(parentRuns.Select(r => r["attempt_count"]!.GetValue<int>()), Is.EqualTo(new[] { 1, 2, 2 }));

        // The continuation runs were committed with their parents' outcomes: counting them now is final.
        var successRuns = await FinishedRunsAsync(onSuccess, 2);
        var failureRuns = await FinishedRunsAsync(onFailure, 1);
        var anyRuns = await FinishedRunsAsync(onAny, 3);
        Assert.Multiple(() =>
        {
            Assert.That(successRuns.Select(ParentOf), Is.EquivalentTo(new long?[] { first, retried }));
            Assert.That(failureRuns.Select(ParentOf), Is.EqualTo(new long?[] { failed }), "once, at the final failure, not at the first failed attempt");
            Assert.That(anyRuns.Select(ParentOf), Is.EquivalentTo(new long?[] { first, failed, retried }));
            Assert.That(successRuns.Concat(failureRuns).Concat(anyRuns).Select(r => r["trigger"]!.GetValue<string>()), Is.All.EqualTo("CONTINUATION"));
            Assert.That(successRuns.Concat(failureRuns).Concat(anyRuns).Select(r => r.Status()), Is.All.EqualTo("SUCCESS"));
            Assert.That(Remarks(failureRuns[0]), Has.Some.EqualTo($"Continuation of run {failed} of schedule {parent}, which ended FAILED."));
            Assert.That(Target.ReceivedOn("/on-success"), Has.Count.EqualTo(2));
            Assert.That(Target.ReceivedOn("/on-failure"), Has.Count.EqualTo(1));
            Assert.That(Target.ReceivedOn("/on-any"), Has.Count.EqualTo(3));
        });
        // The parent's runs name no parent; GET /runs/{id} shows a child's.
        Assert.That(parentRuns.Select(r => r["parent_run_id"]), Is.All.Null);
        Assert.That(ParentOf(await GetRunAsync(Id(failureRuns[0]))), Is.EqualTo(failed));

        // The dashboard's run page links a run to the continuation runs it started, and a continuation run to its parent.
        using var dashboard = await DashboardBrowser.SignInAsync(Api.BaseAddress!, TestKeys.ReadOnly);
        var parentPage = await dashboard.Http.GetStringAsync(new Uri($"/hangfire/runs/{failed}", UriKind.Relative));
        var childPage = await dashboard.Http.GetStringAsync(new Uri($"/hangfire/runs/{Id(failureRuns[0])}", UriKind.Relative));
        Assert.Multiple(() =>
        {
            Assert.That(parentPage, Does.Contain("Continuation runs"));
            Assert.That(parentPage, Does.Contain($"/hangfire/runs/{Id(failureRuns[0])}\"").And.Contain($"/hangfire/runs/{Id(anyRuns[1])}\""));
            Assert.That(childPage, Does.Contain("Parent run").And.Contain($"/hangfire/runs/{failed}\""));
        });
    }

    [Test]
    public async Task Workers_killed_during_the_parents_calls_and_the_continuations_calls_still_make_exactly_one_run_per_continuation()
    {
        Target.Respond("/slow-parent", TestTarget.Slow(TimeSpan.FromSeconds(3)));
        Target.Respond("/slow-failing", TestTarget.Slow(TimeSpan.FromSeconds(3), 500));
        var first = await StartWorkerForTestAsync();
        var child = await ChildAsync("/slow-child");
        var cleanup = await ChildAsync("/slow-cleanup");
        // Slow too, so the second kill falls during their calls.
        Target.Respond("/slow-child", TestTarget.Slow(TimeSpan.FromSeconds(3)));
        Target.Respond("/slow-cleanup", TestTarget.Slow(TimeSpan.FromSeconds(3)));
        var succeeding = await Client.CreateScheduleAsync($$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{Target.Url("/slow-parent")}}"},
             "continuations": [{"when": "success", "schedule_id": {{child}}}, {"when": "failure", "schedule_id": {{cleanup}}}]}
            """);
        var failing = await Client.CreateScheduleAsync($$"""
            {"schedule_type": "IMMEDIATE", "retry": {"max_attempts": 1}, "target": {"url": "{{Target.Url("/slow-failing")}}"},
             "continuations": [{"when": "success", "schedule_id": {{child}}}, {"when": "failure", "schedule_id": {{cleanup}}}]}
            """);

        // SIGKILL while both parents' calls are in flight: another worker takes the runs once their leases run out.
        await Target.WaitForAsync("/slow-parent", 1, Deadline);
        await Target.WaitForAsync("/slow-failing", 1, Deadline);
        first.Kill();
        var second = await StartWorkerForTestAsync();
        // And again while the continuations' calls are in flight.
        await Target.WaitForAsync("/slow-child", 1, Deadline);
        await Target.WaitForAsync("/slow-cleanup", 1, Deadline);
        second.Kill();
        await StartWorkerForTestAsync();

        var succeeded = (await FinishedRunsAsync(succeeding, 1)).Single();
        var failed = (await FinishedRunsAsync(failing, 1)).Single();
        var childRuns = await FinishedRunsAsync(child, 1);
        var cleanupRuns = await FinishedRunsAsync(cleanup, 1);
        Assert.Multiple(() =>
        {
            Assert.That((succeeded.Status(), failed.Status()), Is.EqualTo(("SUCCESS", "FAILED")));
            Assert.That(childRuns.Select(ParentOf), Is.EqualTo(new long?[] { Id(succeeded) }), "one success continuation, of the run that succeeded");
            Assert.That(cleanupRuns.Select(ParentOf), Is.EqualTo(new long?[] { Id(failed) }), "one failure continuation, of the run that failed");
            Assert.That(childRuns.Concat(cleanupRuns).Select(r => r.Status()), Is.All.EqualTo("SUCCESS"));
        });
        // Reconciliation finds nothing missing, and makes no second one.
        var report = await ReconcileAsync();
        Assert.That(Kinds(report), Has.None.EqualTo("continuation_missing"), report.ToJsonString());
        Assert.That(await Client.RunsOfAsync(child), Has.Count.EqualTo(1));
        Assert.That(await Client.RunsOfAsync(cleanup), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_paused_continuation_gets_a_SKIPPED_run_and_reconciliation_makes_a_missing_one_exactly_once()
    {
        await StartWorkerForTestAsync();
        Target.Respond("/ok", TestTarget.Status(200));
        var child = await ChildAsync("/later");
        Assert.That((await Client.PauseSchedule(child).ReadAsync()).Status, Is.EqualTo(HttpStatusCode.OK));
        var parent = await Client.CreateScheduleAsync($$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{Target.Url("/ok")}}"},
             "continuations": [{"when": "any", "schedule_id": {{child}}}]}
            """);
        var parentRun = (await FinishedRunsAsync(parent, 1)).Single();
        var skipped = (await FinishedRunsAsync(child, 1)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(skipped.Status(), Is.EqualTo("SKIPPED"), "a paused schedule's continuation run is recorded, skipped");
            Assert.That(ParentOf(skipped), Is.EqualTo(Id(parentRun)));
            Assert.That(Remarks(skipped), Has.Some.EqualTo($"Skipped: schedule {child} is PAUSED."));
        });

        // As if the finish had not made it: reconciliation makes it (the schedule is active again: PENDING, and run).
        await TestDatabase.ExecuteAsync($"DELETE FROM scheduler.runs WHERE id = {Id(skipped)}");
        Assert.That((await Client.ResumeSchedule(child).ReadAsync()).Status, Is.EqualTo(HttpStatusCode.OK));
        Target.Respond("/later", TestTarget.Status(200));
        var report = await ReconcileAsync();
        Assert.That(Kinds(report).Where(k => k == "continuation_missing").Count(), Is.EqualTo(1), report.ToJsonString());
        var made = (await FinishedRunsAsync(child, 1)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(made.Status(), Is.EqualTo("SUCCESS"));
            Assert.That(ParentOf(made), Is.EqualTo(Id(parentRun)));
            Assert.That(Remarks(made), Has.Some.StartsWith($"Reconciliation: run {Id(parentRun)} had finished without this continuation run"));
        });
        Assert.That(Kinds(await ReconcileAsync()), Has.None.EqualTo("continuation_missing"), "a second pass makes no second run");
        Assert.That(await Client.RunsOfAsync(child), Has.Count.EqualTo(1));
        Assert.That(Target.ReceivedOn("/later"), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Cycles_unknown_schedules_and_bad_items_are_400s_naming_the_field_and_write_nothing()
    {
        var a = await ChildAsync("/a");
        var b = await ChildAsync("/b");
        var c = await ChildAsync("/c");

        await AssertRefusedAsync(Client.CreateSchedule(Json(ScheduleWith($$"""[{"when": "success", "schedule_id": 999999}]"""))),
            "continuations[0].schedule_id", "not found");
        await AssertRefusedAsync(Client.CreateSchedule(Json(ScheduleWith($$"""[{"when": "any", "schedule_id": {{a}}}, {"when": "later", "schedule_id": {{b}}}]"""))),
            "continuations[1].when", "success, failure, any");
        await AssertRefusedAsync(Client.CreateSchedule(Json(ScheduleWith($$"""[{"when": "any", "schedule_id": {{a}}}, {"when": "failure", "schedule_id": {{a}}}]"""))),
            "continuations[1].schedule_id", "named twice");
        await AssertRefusedAsync(Client.CreateSchedule(Json(ScheduleWith($$"""[{"when": "any"}]"""))), "continuations[0].schedule_id", "give");
        var many = string.Join(", ", Enumerable.Range(0, 21).Select(_ => $$"""{"when": "any", "schedule_id": {{a}}}"""));
        await AssertRefusedAsync(Client.CreateSchedule(Json(ScheduleWith($"[{many}]"))), "continuations", "at most 20");
        await AssertRefusedAsync(Client.CreateSchedules(Json($$"""{"schedules": [{{ScheduleWith($$"""[{"when": "any", "schedule_id": {{a}}}]""")}}, {{ScheduleWith("""[{"when": "any", "schedule_id": 999999}]""")}}]}""")),
            "schedules[1].continuations[0].schedule_id", "not found");
        // Wrong JSON types are 400s too (the binder's), never a 500.
        foreach (var wrong in new[] { "\"soon\"", """[{"when": "any", "schedule_id": "x"}]""", """[{"when": 1, "schedule_id": 1}]""", "[1]" })
        {
            var (wrongStatus, problem) = await Client.CreateSchedule(Json(ScheduleWith(wrong))).ReadAsync();
            Assert.That(wrongStatus, Is.EqualTo(HttpStatusCode.BadRequest), problem?.ToJsonString());
            Assert.That(problem!["errors"]!.AsObject().Select(e => e.Key), Has.Some.StartsWith("continuations"), problem.ToJsonString());
        }
        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.schedules"), Is.EqualTo(3), "nothing written");

        // A deleted schedule is no continuation.
        var deleted = await ChildAsync("/gone");
        Assert.That((await Client.DeleteSchedule(deleted).ReadAsync()).Status, Is.EqualTo(HttpStatusCode.NoContent));
        await AssertRefusedAsync(Client.UpdateSchedule(a, Json($$"""{"continuations": [{"when": "any", "schedule_id": {{deleted}}}]}""")),
            "continuations[0].schedule_id", "not found");

        // a → b → c, then c → a would close a cycle; so would a → a and b → a.
        await AssertUpdatedAsync(a, $$"""[{"when": "success", "schedule_id": {{b}}}]""");
        await AssertUpdatedAsync(b, $$"""[{"when": "failure", "schedule_id": {{c}}}]""");
        await AssertRefusedAsync(Client.UpdateSchedule(c, Json($$"""{"continuations": [{"when": "any", "schedule_id": {{a}}}]}""")),
            "continuations[0].schedule_id", "leads back");
        await AssertRefusedAsync(Client.UpdateSchedule(a, Json($$"""{"continuations": [{"when": "any", "schedule_id": {{a}}}]}""")),
            "continuations[0].schedule_id", "itself");
        await AssertRefusedAsync(Client.UpdateSchedule(b, Json($$"""{"continuations": [{"when": "any", "schedule_id": {{c}}}, {"when": "any", "schedule_id": {{a}}}]}""")),
            "continuations[1].schedule_id", "leads back");
        Assert.That(await ContinuationsOfAsync(c), Is.EqualTo("[]"), "a refused write leaves the schedule as it was");
        Assert.That(await ContinuationsOfAsync(b), Is.EqualTo($$"""[{"when":"failure","schedule_id":{{c}}}]"""));

        // Once b → c is gone, c → a closes nothing; [] removes them, and a PUT without the field keeps them.
        await AssertUpdatedAsync(b, "[]");
        await AssertUpdatedAsync(c, $$"""[{"when": "any", "schedule_id": {{a}}}]""");
        var (status, _) = await Client.UpdateSchedule(c, Json("""{"name": "renamed"}""")).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await ContinuationsOfAsync(c), Is.EqualTo($$"""[{"when":"any","schedule_id":{{a}}}]"""));
    }

    /// <summary>A schedule that runs only as a continuation in these tests: ONCE, two days away, calling <paramref name="path"/>.</summary>
    private async Task<long> ChildAsync(string path)
    {
        Target.Respond(path, TestTarget.Status(200));
        return await Client.CreateScheduleAsync($$$"""{"schedule_type": "ONCE", "run_at": "+2d", "target": {"url": "{{{Target.Url(path)}}}"}}""");
    }

    private string ScheduleWith(string continuations) =>
        $$$"""{"schedule_type": "ONCE", "run_at": "+2d", "target": {"url": "{{{Target.Url("/x")}}}"}, "continuations": {{{continuations}}}}""";

    private static async Task AssertRefusedAsync(Task<HttpResponseMessage> call, string field, string says)
    {
        var (status, problem) = await call.ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), problem?.ToJsonString());
        var errors = problem!["errors"]!.AsObject();
        Assert.That(errors.Select(e => e.Key), Is.EqualTo(new[] { field }), problem.ToJsonString());
        Assert.That(errors[field]![0]!.GetValue<string>(), Does.Contain(says));
    }

    private async Task AssertUpdatedAsync(long id, string continuations)
    {
        var (status, body) = await Client.UpdateSchedule(id, Json($$"""{"continuations": {{continuations}}}""")).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body?.ToJsonString());
        Assert.That(body!["continuations"]!.ToJsonString(), Is.EqualTo(JsonNode.Parse(continuations)!.ToJsonString()));
    }

    private async Task<string> ContinuationsOfAsync(long id)
    {
        var (_, schedule) = await Client.GetSchedule(id).ReadAsync();
        return schedule!["continuations"]!.ToJsonString();
    }

    /// <summary>Polls until the schedule has <paramref name="count"/> runs and all have ended; returns them, oldest due first.</summary>
    private async Task<List<JsonNode>> FinishedRunsAsync(long scheduleId, int count) =>
        await Eventually.ValueAsync(async () =>
        {
            var runs = await Client.RunsOfAsync(scheduleId);
            return runs.Count == count && runs.All(r => r.Status() is not ("PENDING" or "RUNNING")) ? runs : null;
        }, Deadline, $"{count} finished run(s) of schedule {scheduleId}");

    private async Task<JsonNode> WaitForRunAsync(long runId, Func<JsonNode, bool> done) =>
        await Eventually.ValueAsync(async () =>
        {
            var run = await GetRunAsync(runId);
            return done(run) ? run : null;
        }, Deadline, $"run {runId} finished");

    private async Task<JsonNode> GetRunAsync(long runId)
    {
        var (status, run) = await Client.GetRun(runId).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        return run!;
    }

    private async Task<JsonNode> ReconcileAsync()
    {
        var (status, body) = await Client.Reconcile().ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body?.ToJsonString());
        return body!;
    }

    private static IEnumerable<string> Kinds(JsonNode report) => report["repairs"]!.AsArray().Select(r => r!["kind"]!.GetValue<string>());

    private static long Id(JsonNode run) => run["id"]!.GetValue<long>();

    private static long? ParentOf(JsonNode run) => run["parent_run_id"]?.GetValue<long>();

    private static IEnumerable<string> Remarks(JsonNode run) => run["remarks"]!.AsArray().Select(r => r!.GetValue<string>());
}
