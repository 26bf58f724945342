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
    public void A_failed_keep_alive_of_a_fetched_job_is_logged_and_hangfires_other_debug_lines_are_not()
    {
        var written = new List<string>();
        using (var logger = LoggingSetup.Levels(new Serilog.LoggerConfiguration()).WriteTo.Sink(new Collect(written)).CreateLogger())
        {
            // Hangfire.PostgreSql's words when the keep-alive of a fetched job throws (logged at Debug).
            logger.ForContext(Serilog.Core.Constants.SourceContextPropertyName, "Hangfire.PostgreSql.PostgreSqlFetchedJob")
                .Debug("Unable to execute keep-alive query for message 42");
            logger.ForContext(Serilog.Core.Constants.SourceContextPropertyName, "Hangfire.PostgreSql.PostgreSqlFetchedJob").Verbose("Keep-alive query for message 42 sent");
            logger.ForContext(Serilog.Core.Constants.SourceContextPropertyName, "Hangfire.Server.Worker").Debug("State change attempt 1 of 10 failed");
        }

        Assert.That(written, Is.EqualTo(new[] { "Unable to execute keep-alive query for message 42" }));
    }

    private sealed class Collect(List<string> written) : Serilog.Core.ILogEventSink
    {
        public void Emit(Serilog.Events.LogEvent logEvent) => written.Add(logEvent.RenderMessage(System.Globalization.CultureInfo.InvariantCulture));
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
