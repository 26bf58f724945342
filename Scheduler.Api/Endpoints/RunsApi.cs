using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Scheduler.Api.Http;
using Scheduler.Api.Runs;
using Scheduler.Api.Validation;
using Scheduler.Core.Jobs;
using Scheduler.Core.Scheduling;

namespace Scheduler.Api.Endpoints;

/// <summary>Runs over HTTP: one per occurrence, with the attempts that made it (seed 001's filters, plus cursors); the reads and the retry are <see cref="RunService"/>'s.</summary>
internal static class RunsApi
{
    public static IEndpointRouteBuilder MapRunsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/runs").WithTags("Runs");
        api.MapGet("", ListRuns).WithName("ListRuns")
            .WithSummary("List runs, latest due first. With 'cursor' (empty for the first page) the answer is a page with next_cursor.");
        api.MapGet("/{id:long}", GetRun).WithName("GetRun").WithSummary("Get a run with its attempts and callback deliveries.");
        api.MapPost("/{id:long}/retry", RetryRun).WithName("RetryRun")
            .WithSummary("Make another attempt of a finished run now, recorded as manual.");
        api.MapPost("/redrive", RedriveRuns).WithName("RedriveRuns")
            .WithSummary("Give every run that ended unsuccessfully and was not retried, among those the filters pick, one manual attempt now (at most Limits:MaxRedriveRuns a call, oldest first).");
        return app;
    }

    public sealed record Filters(
        [property: FromQuery(Name = "schedule_id")] long? ScheduleId,
        [property: FromQuery(Name = "status_filter")] string? StatusFilter,
        [property: FromQuery(Name = "start_time")] string? StartTime,
        [property: FromQuery(Name = "end_time")] string? EndTime,
        [property: FromQuery(Name = "skip")] int? Skip,
        [property: FromQuery(Name = "limit")] int? Limit,
        [property: FromQuery(Name = "cursor")] string? Cursor);

    public static async Task<Results<Ok<List<RunResponse>>, Ok<Page<RunResponse>>, ValidationProblem>> ListRuns(
        [AsParameters] Filters filters, Paging paging, RunService runs, TimeProvider time, HttpResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filters);
        ArgumentNullException.ThrowIfNull(paging);
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(response);
        var errors = new ValidationErrors();
        var now = time.GetUtcNow();
        RunStatus status = default;
        if (filters.StatusFilter is not null && !WireName.TryParse(filters.StatusFilter, out status))
        {
            errors.Add("status_filter", $"must be one of {string.Join(", ", WireName.Values<RunStatus>())}.");
        }
        var start = ParseTime(filters.StartTime, "start_time", now, errors);
        var end = ParseTime(filters.EndTime, "end_time", now, errors);
        var cursorKeys = paging.Check(filters.Skip, filters.Limit, filters.Cursor, keys: 2, errors);
        (DateTimeOffset DueAt, long Id)? after = null;
        if (cursorKeys is [var ticks, var lastId])
        {
            if (ticks > DateTimeOffset.MaxValue.UtcTicks)
            {
                errors.Add("cursor", "is not a cursor this API returned (use next_cursor from the previous page).");
            }
            else
            {
                after = (new DateTimeOffset(ticks, TimeSpan.Zero), lastId);
            }
        }
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var limit = paging.LimitOf(filters.Limit);
        var rows = await runs.ListAsync(new RunFilter(filters.ScheduleId, filters.StatusFilter is null ? null : status, start, end, after),
            filters.Skip ?? 0, limit + 1, cancellationToken);
        var (items, next) = Paging.Cut(rows, limit, r => [r.DueAt.UtcTicks, r.Id], r => RunResponse.From(r, withAttempts: false));
        return Paging.ListOrPage(items, next, filters.Cursor, response) is { } page ? TypedResults.Ok(page) : TypedResults.Ok(items);
    }

    public static async Task<Results<Ok<RunResponse>, ProblemHttpResult>> GetRun(long id, RunService runs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var run = await runs.GetAsync(id, cancellationToken);
        return run is null ? Problems.NotFound($"Run {id} not found") : TypedResults.Ok(RunResponse.From(run, withAttempts: true));
    }

    /// <summary>
    /// A manual retry: the finished run goes back to PENDING and its job is queued at once; the next attempt
    /// is recorded as manual (retry policy, overlap and max delay do not apply to it).
    /// </summary>
    public static async Task<Results<Accepted<RunResponse>, ProblemHttpResult>> RetryRun(long id, RunService runs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var (run, reopened) = await runs.RetryAsync(id, "Manual retry requested", cancellationToken);
        if (run is null)
        {
            return Problems.NotFound($"Run {id} not found");
        }
        if (!reopened)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The run has not finished.",
                detail: $"Run {id} is {WireName.Of(run.Status)}; only a finished run can be retried.");
        }
        return TypedResults.Accepted($"/runs/{id}", RunResponse.From(run, withAttempts: false));
    }

    /// <summary><c>POST /runs/redrive</c>'s filters: GET /runs's (without paging), and the error type.</summary>
    public sealed record RedriveFilters(
        [property: FromQuery(Name = "schedule_id")] long? ScheduleId,
        [property: FromQuery(Name = "status_filter")] string? StatusFilter,
        [property: FromQuery(Name = "start_time")] string? StartTime,
        [property: FromQuery(Name = "end_time")] string? EndTime,
        [property: FromQuery(Name = "error_type")] string? ErrorType);

    /// <summary>What a redrive did: how many runs it queued, and whether it stopped at its limit (call again for more).</summary>
    public sealed record RedriveResponse(int Queued, bool LimitReached);

    /// <summary>
    /// Bulk manual retry of dead letters: runs that ended FAILED, TIMEOUT, DNS_ERROR or CONNECTION_ERROR and were
    /// not retried since, picked by GET /runs's filters and the error type. Admin only (a POST).
    /// </summary>
    public static async Task<Results<Ok<RedriveResponse>, ValidationProblem>> RedriveRuns(
        [AsParameters] RedriveFilters filters, RunService runs, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filters);
        ArgumentNullException.ThrowIfNull(runs);
        var errors = new ValidationErrors();
        var now = time.GetUtcNow();
        RunStatus status = default;
        if (filters.StatusFilter is not null && (!WireName.TryParse(filters.StatusFilter, out status) || !status.IsUnsuccessful()))
        {
            errors.Add("status_filter", $"must be one of {string.Join(", ", RunStatusExtensions.Unsuccessful.Select(WireName.Of))}: redrive takes only runs that ended unsuccessfully.");
        }
        ErrorType errorType = default;
        if (filters.ErrorType is not null && !WireName.TryParse(filters.ErrorType, out errorType))
        {
            errors.Add("error_type", $"must be one of {string.Join(", ", WireName.Values<ErrorType>())}.");
        }
        var start = ParseTime(filters.StartTime, "start_time", now, errors);
        var end = ParseTime(filters.EndTime, "end_time", now, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }
        var filter = new RedriveFilter(filters.ScheduleId, filters.StatusFilter is null ? null : status, start, end,
            filters.ErrorType is null ? null : errorType);
        var result = await runs.RedriveAsync(filter, "Redrive requested (POST /runs/redrive)", cancellationToken);
        return TypedResults.Ok(new RedriveResponse(result.Queued, result.LimitReached));
    }

    private static DateTimeOffset? ParseTime(string? text, string field, DateTimeOffset now, ValidationErrors errors)
    {
        if (text is null)
        {
            return null;
        }
        var (value, error) = RunAtParser.Parse(text, now);
        if (error is not null)
        {
            errors.Add(field, error);
        }
        return value;
    }
}
