using Npgsql;
using Scheduler.Api.Hosting;
using Scheduler.Core.Hosting;

namespace Scheduler.Api.Endpoints;

/// <summary>
/// <c>/health</c> in seed 001's shape, plus probes for Kubernetes. All open, and none reveals more
/// than whether things work.
/// </summary>
public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/health").WithTags("Health").AllowAnonymous();
        api.MapGet("", GetHealth).WithName("GetHealth").Produces<HealthResponse>()
            .WithSummary("Health in seed 001's shape: the database answers, and whether a worker is running.");
        api.MapGet("/live", () => TypedResults.Ok(new ProbeResponse("alive", null))).WithName("GetLiveness")
            .WithSummary("Liveness probe: the process serves requests.");
        api.MapGet("/ready", GetReadiness).WithName("GetReadiness").Produces<ProbeResponse>()
            .WithSummary("Readiness probe: the database answers, its schema is current and the API has warmed up.");
        return app;
    }

    /// <param name="Status"><c>healthy</c> or <c>unhealthy</c>.</param>
    /// <param name="SchedulerRunning">True when at least one worker's Hangfire server has a recent heartbeat.</param>
    public sealed record HealthResponse(string Status, bool SchedulerRunning);

    public sealed record ProbeResponse(string Status, string? Reason);

    public static async Task<IResult> GetHealth(WorkerHeartbeats workers, CancellationToken cancellationToken)
    {
        try
        {
            var alive = await workers.CountAliveAsync(cancellationToken);
            return TypedResults.Ok(new HealthResponse("healthy", alive > 0));
        }
        catch (NpgsqlException)
        {
            return TypedResults.Json(new HealthResponse("unhealthy", false), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    internal static async Task<IResult> GetReadiness(DatabaseReadiness readiness, ApiRehearsal warmUp, CancellationToken cancellationToken) =>
        (warmUp.Done ? await readiness.WhyNotReadyAsync(cancellationToken) : "warming up: the API walks its create path before it takes requests") is { } reason
            ? TypedResults.Json(new ProbeResponse("not_ready", reason), statusCode: StatusCodes.Status503ServiceUnavailable)
            : TypedResults.Ok(new ProbeResponse("ready", null));
}
