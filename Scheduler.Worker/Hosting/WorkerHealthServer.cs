using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using OpenTelemetry.Metrics;

namespace Scheduler.Worker.Hosting;

/// <summary>
/// Serves <c>/health/live</c>, <c>/health/ready</c> and <c>/metrics</c> (Prometheus' text format) on <see cref="WorkerHttpOptions"/>' address: a small Kestrel
/// of its own, started first and stopped last, so probes are answered while the worker waits for the schema and
/// while it drains on SIGTERM. A port already taken stops the worker at once with a message naming it.
/// </summary>
internal sealed class WorkerHealthServer(
    WorkerHealth health,
    MeterProvider meters,
    IOptions<WorkerHttpOptions> options,
    ILoggerFactory loggerFactory,
    IHostEnvironment environment) : IHostedService, IAsyncDisposable
{
    public const string MetricsPath = "/metrics";

    private WebApplication? _app;

    public sealed record ProbeResponse(string Status, string? Reason);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var address = IPAddress.Parse(settings.HttpHost);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            EnvironmentName = environment.EnvironmentName,
            ContentRootPath = environment.ContentRootPath,
        });
        // The worker's own logging, and no signal handling: the worker's host decides when this stops.
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton<IHostLifetime, OwnedLifetime>();
        // Set here, this address wins over ASPNETCORE_URLS / ASPNETCORE_HTTP_PORTS (the ASP.NET image sets 8080).
        builder.WebHost.UseUrls(new UriBuilder("http", address.ToString(), settings.HttpPort).Uri.ToString());

        var app = builder.Build();
        app.MapGet("/health/live", async (CancellationToken ct) => Probe(await health.WhyNotLiveAsync(ct), "alive", "not_alive"));
        app.MapGet("/health/ready", async (CancellationToken ct) => Probe(await health.WhyNotReadyAsync(ct), "ready", "not_ready"));
        // The worker's own meter provider (this small host has none): every instrument of the process.
        app.MapPrometheusScrapingEndpoint(MetricsPath, meters, configureBranchedPipeline: null, optionsName: null);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException ex) when (ex.InnerException is AddressInUseException)
        {
            await app.DisposeAsync();
            throw new OptionsValidationException(WorkerHttpOptions.Section, typeof(WorkerHttpOptions),
                [$"Worker:HttpPort {settings.HttpPort} on {settings.HttpHost} is already in use by another process: stop it, or give this worker a free port (Worker__HttpPort=...)."]);
        }
        _app = app;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private static IResult Probe(string? problem, string good, string bad) =>
        problem is null
            ? Results.Json(new ProbeResponse(good, null))
            : Results.Json(new ProbeResponse(bad, problem), statusCode: StatusCodes.Status503ServiceUnavailable);

    /// <summary>The health server lives and dies with the worker's host, not with signals of its own.</summary>
    private sealed class OwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
