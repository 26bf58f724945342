using Microsoft.Extensions.Configuration;
using Scheduler.Core.Hosting;
using Scheduler.Core.Observability;

namespace Scheduler.Tests.Core.Hosting;

/// <summary>The log format setting, the console sink not doubled, and the stored trace context read back.</summary>
public sealed class LoggingSetupTests
{
    [TestCase("text", true)]
    [TestCase("json", true)]
    [TestCase("JSON", true)]
    [TestCase("xml", false)]
    [TestCase("", false)]
    public void Logging_format_is_text_or_json(string format, bool valid)
    {
        var result = new LogOptionsValidator().Validate(null, new LogOptions { Format = format });
        Assert.That(result.Succeeded, Is.EqualTo(valid), result.FailureMessage);
        if (!valid)
        {
            Assert.That(result.FailureMessage, Does.Contain("Logging:Format"));
        }
    }

    [TestCase("Serilog:WriteTo:0:Name", "Console", true, TestName = "A console sink in WriteTo's array replaces ours")]
    [TestCase("Serilog:WriteTo:Screen:Name", "console", true, TestName = "A console sink as a named WriteTo entry replaces ours")]
    [TestCase("Serilog:WriteTo:0:Name", "File", false, TestName = "Another sink leaves ours")]
    [TestCase("Serilog:MinimumLevel:Default", "Debug", false, TestName = "No sink configured leaves ours")]
    public void A_configured_console_sink_is_the_only_console(string key, string value, bool configured)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        Assert.That(LoggingSetup.ConfiguresConsole(configuration), Is.EqualTo(configured));
    }

    [Test]
    public void A_stored_traceparent_gives_its_trace_id_and_anything_else_none()
    {
        Assert.Multiple(() =>
        {
            Assert.That(SchedulerTracing.TraceIdOf("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), Is.EqualTo("0af7651916cd43dd8448eb211c80319c"));
            Assert.That(SchedulerTracing.TraceIdOf(null), Is.Null);
            Assert.That(SchedulerTracing.TraceIdOf("not a traceparent"), Is.Null);
        });
    }
}
