using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Scheduler.Api.Contracts;
using Scheduler.Core.Model;
using Scheduler.Core.Persistence;

namespace Scheduler.Api.Endpoints;

/// <summary>Runs: one per occurrence, with the attempts that made it (seed 001).</summary>
public static class RunsApi
{
    public const int MaxLimit = 1000;

    public static IEndpointRouteBuilder MapRunsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/runs").WithTags("Runs");
        api.MapGet("", ListRuns).WithName("ListRuns").WithSummary("List runs, newest due first, filtered by schedule and status.");
        api.MapGet("/{id:long}", GetRun).WithName("GetRun").WithSummary("Get a run with its attempts.");
        return app;
    }

    public static async Task<Results<Ok<List<RunResponse>>, ValidationProblem>> ListRuns(
        SchedulerDbContext db,
        [FromQuery(Name = "schedule_id")] long? scheduleId,
        [FromQuery(Name = "status_filter")] string? statusFilter,
        [FromQuery(Name = "skip")] int? skip,
        [FromQuery(Name = "limit")] int? limit,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var errors = new ValidationErrors();
        RunStatus status = default;
        if (statusFilter is not null && !WireName.TryParse(statusFilter, out status))
        {
            errors.Add("status_filter", $"must be one of {string.Join(", ", WireName.Values<RunStatus>())}.");
        }
        if (skip is < 0)
        {
            errors.Add("skip", "must not be negative.");
        }
        if (limit is < 1 or > MaxLimit)
        {
            errors.Add("limit", $"must be between 1 and {MaxLimit}.");
        }
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var query = db.Runs.AsNoTracking();
        if (scheduleId is { } id)
        {
            query = query.Where(r => r.ScheduleId == id);
        }
        if (statusFilter is not null)
        {
            query = query.Where(r => r.Status == status);
        }
        var runs = await query.OrderByDescending(r => r.DueAt).ThenByDescending(r => r.Id)
            .Skip(skip ?? 0).Take(limit ?? 100).ToListAsync(cancellationToken);
        return TypedResults.Ok(runs.Select(r => RunResponse.From(r, withAttempts: false)).ToList());
    }

    public static async Task<Results<Ok<RunResponse>, ProblemHttpResult>> GetRun(long id, SchedulerDbContext db, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var run = await db.Runs.AsNoTracking().Include(r => r.Attempts).FirstOrDefaultAsync(r => r.Id == id, cancellationToken);
        return run is null ? Problems.NotFound($"Run {id} not found") : TypedResults.Ok(RunResponse.From(run, withAttempts: true));
    }
}
