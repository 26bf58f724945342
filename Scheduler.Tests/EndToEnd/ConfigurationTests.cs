namespace Scheduler.Tests.EndToEnd;

/// <summary>A bad setting stops a process at once with a message naming it; migrations are an explicit, repeatable step.</summary>
public sealed class ConfigurationTests
{
    [TestCase("worker", "Hangfire__WorkerCount", "0", "Hangfire:WorkerCount")]
    [TestCase("worker", "Execution__LeaseSeconds", "1", "Execution:LeaseSeconds")]
    [TestCase("api", "Execution__DefaultTimeoutSeconds", "-3", "Execution:DefaultTimeoutSeconds")]
    [TestCase("api", "ConnectionStrings__Scheduler", "", "ConnectionStrings:Scheduler")]
    [TestCase("api", "Hangfire__QueuePollInterval", "soon", "Hangfire:QueuePollInterval")]
    [TestCase("worker", "Outbound__Proxy", "ftp://proxy:21", "Outbound:Proxy")]
    [TestCase("worker", "Outbound__CrossOriginRedirects", "Sometimes", "Outbound:CrossOriginRedirects")]
    public async Task A_bad_setting_stops_the_process_with_a_message_naming_it(string process, string variable, string value, string named)
    {
        await using var started = SchedulerProcess.StartRaw(process, [], new Dictionary<string, string>
        {
            [variable] = value,
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
        });
        var exitCode = await started.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.That(exitCode, Is.Not.Zero, started.Output);
        Assert.That(started.Output, Does.Contain(named));
    }

    [Test]
    public async Task An_adapter_placed_over_another_endpoint_stops_the_api_naming_both()
    {
        // Under /hangfire, callme's routes would take requests from the dashboard's /hangfire/{**path}.
        await using var started = SchedulerProcess.StartRaw("api", [], new Dictionary<string, string>
        {
            ["Compat__CallmePrefix"] = "/hangfire",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
        });
        var exitCode = await started.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.That(exitCode, Is.Not.Zero, started.Output);
        Assert.That(started.Output, Does.Contain("route conflict: PUT /hangfire/task/{name} (Compat:CallmePrefix=/hangfire)").And.Contain("/hangfire/{**path}"));
    }

    [Test]
    public async Task Migrate_is_an_explicit_step_that_can_run_again()
    {
        await using var migrate = SchedulerProcess.StartRaw("api", ["migrate"], new Dictionary<string, string>());
        Assert.That(await migrate.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, migrate.Output);
        Assert.That(migrate.Output, Does.Contain("Applied 0 migration(s)").And.Contain("Hangfire schema hangfire is installed"));
    }
}
