using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Scheduler.Core.Jobs;

namespace Scheduler.Api.Endpoints;

/// <summary>
/// The named jobs schedules may run (seed 003's FUNCTIONS): built-ins and those the workers registered. Only
/// jobs users may schedule are named jobs; maintenance (retention, reconciliation) is not listed.
/// </summary>
public static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/jobs").WithTags("Jobs").MapGet("", ListJobs).WithName("ListJobs")
            .WithSummary("List the named jobs a schedule's job_name may use, with an example of their args.");
        return app;
    }

    /// <summary>A named job; <c>args</c> lists the arguments it takes with their bounds (null: any JSON).</summary>
    public sealed record JobResponse(string Name, string? Description, JsonElement? ArgsExample, IReadOnlyList<NamedJobArg>? Args, DateTimeOffset UpdatedAt);

    public static async Task<Ok<List<JobResponse>>> ListJobs(SchedulerDbContext db, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var jobs = await db.JobTypes.AsNoTracking().OrderBy(j => j.Name).ToListAsync(cancellationToken);
        return TypedResults.Ok(jobs.Select(j => new JobResponse(j.Name, j.Description,
            j.ArgsExample is null ? null : JsonDocument.Parse(j.ArgsExample).RootElement.Clone(), NamedJobArg.Deserialize(j.ArgsSpec), j.UpdatedAt)).ToList());
    }
}
