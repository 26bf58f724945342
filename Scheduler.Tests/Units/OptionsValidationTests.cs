using Scheduler.Core.Hosting;

namespace Scheduler.Tests.Units;

public sealed class OptionsValidationTests
{
    [Test]
    public void Defaults_are_valid() => Assert.Multiple(() =>
    {
        Assert.That(new EngineOptionsValidator().Validate(null, new EngineOptions()).Succeeded, Is.True);
        Assert.That(new ExecutionOptionsValidator().Validate(null, new ExecutionOptions()).Succeeded, Is.True);
        Assert.That(new DatabaseOptionsValidator().Validate(null, new DatabaseOptions { ConnectionString = "Host=x", HangfireConnectionString = "Host=x" }).Succeeded, Is.True);
    });

    [Test]
    public void Each_bad_setting_is_named_with_its_configuration_key()
    {
        var engine = new EngineOptionsValidator().Validate(null, new EngineOptions { WorkerCount = 0, InvisibilityTimeout = TimeSpan.FromSeconds(1) });
        var execution = new ExecutionOptionsValidator().Validate(null, new ExecutionOptions { DefaultTimeoutSeconds = 0, LeaseRenewalSeconds = 60 });
        var database = new DatabaseOptionsValidator().Validate(null, new DatabaseOptions { ConnectionString = "", HangfireConnectionString = "Host=x;Nonsense=1", HangfireSchema = "Bad-Name" });
        Assert.Multiple(() =>
        {
            Assert.That(engine.Failures, Has.Some.Contains("Hangfire:WorkerCount").And.Some.Contains("Hangfire:InvisibilityTimeout"));
            Assert.That(execution.Failures, Has.Some.Contains("Execution:DefaultTimeoutSeconds").And.Some.Contains("Execution:LeaseRenewalSeconds"));
            Assert.That(database.Failures, Has.Some.Contains("ConnectionStrings:Scheduler")
                .And.Some.Contains("Database:HangfireConnectionString").And.Some.Contains("Database:HangfireSchema"));
        });
    }
}
