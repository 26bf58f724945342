namespace Scheduler.Tests.EndToEnd;

/// <summary>Retries and delays that outlive a worker: they are rows and Hangfire jobs, not sleeps in a process.</summary>
public sealed class ExecutionRecoveryTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    [Test]
    public async Task A_retry_scheduled_when_the_worker_is_killed_still_happens_after_a_worker_starts()
    {
        Target.Respond("/second-time", TestTarget.Sequence(TestTarget.Status(503), TestTarget.Status(200)));
        var first = await StartWorkerForTestAsync();
        var id = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "retry": {"max_attempts": 3, "initial_interval_seconds": 4}, "target": {"url": "{{{Target.Url("/second-time")}}}"}}
            """);
        // The first attempt failed and the second is scheduled in Hangfire: then the worker dies. (The worker
        // hands retries to Hangfire in the background just after the commit; killed before that, the retry is
        // reconciliation's to find, which is another test.)
        await Eventually.UntilAsync(async () => await TestDatabase.ScheduledRetriesAsync(id) == 1, Seconds(30), "the retry to be scheduled in Hangfire");
        first.Kill();

        await StartWorkerForTestAsync();
        var run = await Client.WaitForFinishedRunAsync(id, Seconds(60));
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
        Assert.That(run["attempts"]!.AsArray().Select(a => a!.Status()), Is.EqualTo(new[] { "FAILED", "SUCCESS" }));
        Assert.That(Target.ReceivedOn("/second-time"), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Max_delay_skips_a_run_whose_worker_was_down_too_long_and_says_why()
    {
        var id = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "max_delay_seconds": 1, "target": {"url": "{{{Target.Url("/too-late")}}}"}}
            """);
        var due = (await Client.RunsOfAsync(id))[0].Time("due_at");
        await Eventually.UntilAsync(() => TimeProvider.System.GetUtcNow() > due.AddSeconds(1.5), Seconds(10), "the max delay to pass");

        await StartWorkerForTestAsync();
        var run = await Client.WaitForFinishedRunAsync(id, Seconds(30));
        Assert.That(run.Status(), Is.EqualTo("SKIPPED"));
        Assert.That(run["attempt_count"]!.GetValue<int>(), Is.Zero);
        Assert.That(run["remarks"]![0]!.GetValue<string>(), Does.Match(@"^Skipped: the first attempt would start \d+\.\d s after the due time, max_delay_seconds \(1\) or more\.$"));
        Assert.That(Target.ReceivedOn("/too-late"), Is.Empty);
    }
}
