using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Scheduler.Core.Security;
using Serilog;
using Serilog.Events;

namespace Scheduler.Core.Hosting;

/// <summary>Serilog for both processes: console output, levels from the <c>Serilog</c> section.</summary>
public static class LoggingSetup
{
    public const string OutputTemplate =
        "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Process} {SourceContext}: {Message:lj}{NewLine}{Exception}";

    public static IServiceCollection AddSchedulerLogging(this IServiceCollection services, IConfiguration configuration, string processName) =>
        services.AddSerilog((_, logger) => Configure(logger, configuration, processName));

    /// <summary>A logger for the moments before a host exists (bad configuration, the migrate command).</summary>
    public static Serilog.ILogger CreateBootstrapLogger(string processName) =>
        new LoggerConfiguration().MinimumLevel.Information()
            .Enrich.WithProperty("Process", processName)
            .WriteTo.Console(outputTemplate: OutputTemplate, formatProvider: System.Globalization.CultureInfo.InvariantCulture)
            .CreateLogger();

    private static void Configure(LoggerConfiguration logger, IConfiguration configuration, string processName) =>
        logger.MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning)
            .MinimumLevel.Override("System.Net.Http.HttpClient", LogEventLevel.Warning)
            .MinimumLevel.Override("Hangfire", LogEventLevel.Information)
            // Its "was challenged" / "was forbidden" lines say again what the request log line says (401, 403):
            // a client's mistake is one line.
            .MinimumLevel.Override("Scheduler.Api.Security.ApiKeyAuthenticationHandler", LogEventLevel.Warning)
            .ReadFrom.Configuration(configuration)
            .Enrich.FromLogContext()
            .Destructure.With<SecretDestructuringPolicy>()
            .Enrich.WithProperty("Process", processName)
            .WriteTo.Console(outputTemplate: OutputTemplate, formatProvider: System.Globalization.CultureInfo.InvariantCulture);
}
