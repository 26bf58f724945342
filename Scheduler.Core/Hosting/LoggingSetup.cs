using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Scheduler.Core.Security;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Scheduler.Core.Hosting;

/// <summary>
/// Serilog for both processes: the console, as text (default, with the date) or compact JSON (<c>Logging:Format</c>);
/// levels and further sinks from the <c>Serilog</c> section (docs/operations.md).
/// </summary>
public static class LoggingSetup
{
    public const string OutputTemplate =
        "[{Timestamp:yyyy-MM-dd HH:mm:ss.fff} {Level:u3}] {Process} {SourceContext}: {Message:lj}{NewLine}{Exception}";

    public static IServiceCollection AddSchedulerLogging(this IServiceCollection services, IConfiguration configuration, string processName)
    {
        services.AddOptions<LogOptions>().BindConfiguration(LogOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LogOptions>, LogOptionsValidator>();
        return services.AddSerilog((provider, logger) => Configure(logger, configuration, processName, provider.GetRequiredService<IOptions<LogOptions>>().Value));
    }

    /// <summary>
    /// A logger for the moments before a host exists (bad configuration, a crash at start): the format is taken from
    /// the environment (<c>Logging__Format</c>), the only configuration there is yet.
    /// </summary>
    public static Serilog.ILogger CreateBootstrapLogger(string processName)
    {
        var format = new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(LogOptions.Section).Get<LogOptions>() ?? new LogOptions();
        return Console(new LoggerConfiguration().MinimumLevel.Information().Enrich.WithProperty("Process", processName), format).CreateLogger();
    }

    private static void Configure(LoggerConfiguration logger, IConfiguration configuration, string processName, LogOptions format)
    {
        Levels(logger)
            .ReadFrom.Configuration(configuration)
            .Enrich.FromLogContext()
            .Destructure.With<SecretDestructuringPolicy>()
            .Enrich.WithProperty("Process", processName);
        // A console sink configured under Serilog:WriteTo replaces ours: two would print every line twice.
        if (!ConfiguresConsole(configuration))
        {
            Console(logger, format);
        }
    }

    /// <summary>The default levels, before the <c>Serilog</c> section's own.</summary>
    internal static LoggerConfiguration Levels(LoggerConfiguration logger) =>
        logger.MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning)
            .MinimumLevel.Override("System.Net.Http.HttpClient", LogEventLevel.Warning)
            .MinimumLevel.Override("Hangfire", LogEventLevel.Information)
            // Its one Debug line says a keep-alive of a fetched job failed (its only other line is a Trace per
            // keep-alive): the job is then fetched again by another worker after Hangfire:InvisibilityTimeout,
            // late by that much, which nothing else would explain.
            .MinimumLevel.Override("Hangfire.PostgreSql.PostgreSqlFetchedJob", LogEventLevel.Debug)
            // Its "was challenged" / "was forbidden" lines say again what the request log line says (401, 403):
            // a client's mistake is one line.
            .MinimumLevel.Override("Scheduler.Api.Security.ApiKeyAuthenticationHandler", LogEventLevel.Warning);

    private static LoggerConfiguration Console(LoggerConfiguration logger, LogOptions format) =>
        format.IsJson
            // Compact JSON: @t (UTC timestamp), @l (level, absent for Information), @mt (template), @m only when asked,
            // @x (exception), @tr/@sp (trace and span id) and the event's properties, one object a line.
            ? logger.WriteTo.Console(new CompactJsonFormatter())
            : logger.WriteTo.Console(outputTemplate: OutputTemplate, formatProvider: System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Serilog:WriteTo names a Console sink (as an array or as named entries).</summary>
    internal static bool ConfiguresConsole(IConfiguration configuration) =>
        configuration.GetSection("Serilog:WriteTo").GetChildren()
            .Any(sink => string.Equals(sink["Name"], "Console", StringComparison.OrdinalIgnoreCase));
}
