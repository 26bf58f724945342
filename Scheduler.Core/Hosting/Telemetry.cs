using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Scheduler.Core.Observability;

namespace Scheduler.Core.Hosting;

/// <summary>
/// OpenTelemetry for every process, set up in this one place: the <c>Scheduler</c> meter
/// (<see cref="SchedulerMetrics"/>), the runtime, ASP.NET Core, HttpClient and Npgsql instruments, a Prometheus
/// exporter (the API maps it at <c>/metrics/prometheus</c>, a worker at <c>/metrics</c> on its health port); the
/// traces of the <c>Scheduler</c> ActivitySource (<see cref="SchedulerTracing"/>), ASP.NET Core and HttpClient; and
/// OTLP for both when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (docs/observability.md).
/// </summary>
public static class Telemetry
{
    /// <summary>The variable the OTLP exporter reads its endpoint from; unset, nothing is pushed.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The host's configuration (environment variables included).</param>
    /// <param name="processName">The OpenTelemetry service name is <c>scheduler-</c> and this (<c>api</c>, <c>worker</c>).</param>
    public static OpenTelemetryBuilder AddSchedulerTelemetry(this IServiceCollection services, IConfiguration configuration, string processName)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>());
        services.TryAddSingleton<DueWorkProbe>();
        services.TryAddSingleton<SchedulerMetrics>();
        var otlp = !string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable]);

        return services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService($"scheduler-{processName}", serviceInstanceId: $"{Environment.MachineName}:{Environment.ProcessId}"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(SchedulerMetrics.MeterName)
                    .AddRuntimeInstrumentation()
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddNpgsqlInstrumentation()
                    .AddPrometheusExporter();
                // The meter's instruments exist once SchedulerMetrics does: created with the provider, the gauges
                // are there before anything records.
                metrics.AddInstrumentation(sp => sp.GetRequiredService<SchedulerMetrics>());
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            })
            .WithTracing(tracing =>
            {
                // Spans are made whether or not they are exported: the trace context stored on runs and sent to
                // targets (traceparent) comes from them. Sampling is the SDK's default, parent-based, always on. The
                // warm-ups' spans are made the same way and kept from the exporter, which comes after (WarmUpTraces).
                tracing.AddSource(SchedulerTracing.SourceName)
                    .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context => !IsProbeOrScrape(context.Request.Path))
                    .AddHttpClientInstrumentation()
                    .AddProcessor(new WarmUpTraces.Processor());
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            });
    }

    // Probes and scrapes come every few seconds and say nothing about work: no span for them.
    private static bool IsProbeOrScrape(PathString path) =>
        path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase);
}
