using System.Diagnostics;

namespace Scheduler.Tests.EndToEnd;

/// <summary>SIGTERM: a worker stops taking work, lets in-flight calls finish within its grace period, and hands back the rest.</summary>
[Category("Chaos")]
public sealed class GracefulShutdownTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    [Test]
    public async Task A_call_in_flight_at_sigterm_completes_once_and_the_worker_exits()
    {
        Target.Respond("/slow", TestTarget.Slow(TimeSpan.FromSeconds(5)));
        var worker = await StartWorkerForTestAsync();
        var scheduleId = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/slow")}}}"}}""");
        await Target.WaitForAsync("/slow", 1, TimeSpan.FromSeconds(30));

        var terminatedAt = Stopwatch.StartNew();
        worker.Terminate();
        Assert.That(await worker.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.Zero, worker.Output);
        await TestContext.Out.WriteLineAsync($"Worker exited {terminatedAt.Elapsed.TotalSeconds:0.0} s after SIGTERM (grace 30 s, call 5 s).");
        Assert.That(terminatedAt.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "within the grace period");

        var run = await Client.WaitForFinishedRunAsync(scheduleId, TimeSpan.FromSeconds(5));
        Assert.That(run["status"]!.GetValue<string>(), Is.EqualTo("SUCCESS"));
        Assert.That(run["attempt_count"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(Target.ReceivedOn("/slow"), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_call_outlasting_the_grace_period_is_handed_back_and_finished_by_another_worker()
    {
        Target.Respond("/very-slow", TestTarget.Slow(TimeSpan.FromSeconds(4)));
        var settings = new Dictionary<string, string> { ["Hangfire__ShutdownTimeout"] = "00:00:01" };
        var worker = await SchedulerProcess.StartWorkerAsync(settings);
        await using (worker)
        {
            var scheduleId = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/very-slow")}}}"}}""");
            await Target.WaitForAsync("/very-slow", 1, TimeSpan.FromSeconds(30));
            worker.Terminate();
            Assert.That(await worker.WaitForExitAsync(TimeSpan.FromSeconds(30)), Is.Zero, worker.Output);
            Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT status FROM scheduler.runs WHERE schedule_id = {scheduleId}"), Is.EqualTo("PENDING"));

            await StartWorkerForTestAsync();
            var run = await Client.WaitForFinishedRunAsync(scheduleId, TimeSpan.FromSeconds(60));
            var attempts = run["attempts"]!.AsArray();
            Assert.Multiple(() =>
            {
                Assert.That(run["status"]!.GetValue<string>(), Is.EqualTo("SUCCESS"));
                Assert.That(attempts.Select(a => a!["status"]!.GetValue<string>()), Is.EqualTo(new[] { "INTERRUPTED", "SUCCESS" }));
                Assert.That(run["remarks"]!.AsArray().Select(r => r!.GetValue<string>()), Has.Some.Contains("handed the run back"));
            });
        }
    }
}
