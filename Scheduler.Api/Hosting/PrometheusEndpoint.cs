using Scheduler.Core.Observability;

namespace Scheduler.Api.Hosting;

/// <summary>
/// <c>/metrics/prometheus</c>: the API process's metrics in Prometheus' text format (Core's Telemetry). It asks for
/// an API key like the API (a Bearer token works, so Prometheus' <c>authorization</c> setting does) unless
/// <c>Metrics:AllowAnonymous</c> opens it; either role may read it.
/// </summary>
internal static class PrometheusEndpoint
{
    public const string Path = "/metrics/prometheus";

    public static IEndpointRouteBuilder MapPrometheusMetrics(this IEndpointRouteBuilder app)
    {
        var endpoint = app.MapPrometheusScrapingEndpoint(Path).ExcludeFromDescription();
        if (app.ServiceProvider.GetRequiredService<IOptions<MetricsOptions>>().Value.AllowAnonymous)
        {
            endpoint.AllowAnonymous();
        }
        return app;
    }
}
