using Microsoft.AspNetCore.Http.HttpResults;
using Scheduler.Core.Reconciliation;

namespace Scheduler.Api.Endpoints;

/// <summary>Reconciliation on demand: seed 000's "process all pending and failed".</summary>
public static class ReconcileApi
{
    public static IEndpointRouteBuilder MapReconcileApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/reconcile", Reconcile).WithTags("Reconciliation").WithName("Reconcile")
            .WithSummary("Find runs, schedules and callbacks that stopped progressing, repair them now, and say what was done.");
        return app;
    }

    public sealed record ReconcileResponse(long? Id, string Trigger, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, bool Skipped, int Repaired, IReadOnlyList<Repair> Repairs);

    public static async Task<Ok<ReconcileResponse>> Reconcile(Reconciler reconciler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reconciler);
        var report = await reconciler.RunAsync("api", cancellationToken);
        return TypedResults.Ok(new ReconcileResponse(report.Id, report.Trigger, report.StartedAt, report.FinishedAt, report.Skipped, report.Repaired, report.Repairs));
    }
}
