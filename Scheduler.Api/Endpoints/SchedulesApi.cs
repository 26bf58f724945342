using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Scheduler.Api.Hosting;
using Scheduler.Api.Http;
using Scheduler.Api.Schedules;
using Scheduler.Api.Validation;

namespace Scheduler.Api.Endpoints;

/// <summary>
/// Schedules over HTTP (seed 001's API, with ONCE, CRON, policies and trigger-now): each handler maps the
/// request to <see cref="ScheduleService"/>, where the work is, and its result to an HTTP answer.
/// </summary>
internal static class SchedulesApi
{
    public static IEndpointRouteBuilder MapSchedulesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/schedules").WithTags("Schedules");
        api.MapPost("", CreateSchedule).WithName("CreateSchedule")
            .WithSummary("Create a schedule: IMMEDIATE, ONCE, INTERVAL, WINDOW or CRON.");
        api.MapPost("/bulk", CreateSchedules).WithName("CreateSchedules")
            .WithSummary("Create many schedules in one request and one transaction: all of them, or none (400 names each bad field as schedules[i].field).");
        api.MapGet("", ListSchedules).WithName("ListSchedules")
            .WithSummary("List live schedules by id, limit at a time (default 100). With 'cursor' (empty for the first page) the answer is a page with next_cursor; without, a list and X-Next-Cursor.");
        api.MapGet("/{id:long}", GetSchedule).WithName("GetSchedule").WithSummary("Get a schedule.");
        api.MapPut("/{id:long}", UpdateSchedule).WithName("UpdateSchedule")
            .WithSummary("Change a schedule; fields not given keep their values. The next occurrence is recomputed. A callback URL at another origin drops the secret callback headers not given again.");
        api.MapDelete("/{id:long}", DeleteSchedule).WithName("DeleteSchedule")
            .WithSummary("Delete a schedule: its pending runs are CANCELLED, its history stays.");
        api.MapPost("/{id:long}/pause", PauseSchedule).WithName("PauseSchedule").WithSummary("Pause an ACTIVE schedule.");
        api.MapPost("/{id:long}/resume", ResumeSchedule).WithName("ResumeSchedule")
            .WithSummary("Resume a PAUSED schedule from its next occurrence after now.");
        api.MapPost("/{id:long}/trigger", TriggerSchedule).WithName("TriggerSchedule")
            .WithSummary("Run a schedule once now, outside its cadence.");
        return app;
    }

    public static async Task<Results<Created<ScheduleResponse>, ValidationProblem>> CreateSchedule(
        ScheduleRequest request, ScheduleService schedules, ApiRehearsal rehearsal, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        ArgumentNullException.ThrowIfNull(rehearsal);
        // The API's warm-up walks this path through HTTP before the API is ready, writing to a database of its own or
        // nowhere, never to Scheduler's (ApiWarmup).
        var (schedule, errors) = ApiRehearsal.IsRehearsal(user)
            ? await schedules.RehearseCreateAsync(request, user, execute: false, rehearsal.Writer, cancellationToken)
            : await schedules.CreateAsync(request, ScheduleOrigin.Api, user, cancellationToken);
        return schedule is null ? errors.ToProblem() : TypedResults.Created($"/schedules/{schedule.Id}", ScheduleResponse.From(schedule));
    }

    public static async Task<Results<Created<BulkScheduleResponse>, ValidationProblem>> CreateSchedules(
        BulkScheduleRequest request, ScheduleService schedules, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(schedules);
        var (created, errors) = await schedules.CreateManyAsync(request.Schedules, user, cancellationToken);
        return created is null ? errors.ToProblem()
            : TypedResults.Created("/schedules", new BulkScheduleResponse(created.Count, created.Select(ScheduleResponse.From).ToList()));
    }

    public static Task<Results<Ok<List<ScheduleResponse>>, Ok<Page<ScheduleResponse>>, ValidationProblem>> ListSchedules(
        [AsParameters] Paging.Query query, Paging paging, ScheduleService schedules, HttpResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(paging);
        ArgumentNullException.ThrowIfNull(schedules);
        return paging.ByIdAsync(query, response, (after, skip, take) => schedules.ListAsync(after, skip, take, cancellationToken), s => s.Id, ScheduleResponse.From);
    }

    public static async Task<Results<Ok<ScheduleResponse>, ProblemHttpResult>> GetSchedule(long id, ScheduleService schedules, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        var schedule = await schedules.GetAsync(id, cancellationToken);
        return schedule is null ? NotFound(id) : TypedResults.Ok(ScheduleResponse.From(schedule));
    }

    public static async Task<Results<Ok<ScheduleResponse>, ValidationProblem, ProblemHttpResult>> UpdateSchedule(
        long id, ScheduleRequest request, ScheduleService schedules, ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        return Answer(id, await schedules.UpdateAsync(id, request, user, null, cancellationToken));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteSchedule(long id, ScheduleService schedules, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        return await schedules.DeleteAsync(id, cancellationToken) ? TypedResults.NoContent() : NotFound(id);
    }

    public static async Task<Results<Ok<ScheduleResponse>, ValidationProblem, ProblemHttpResult>> PauseSchedule(
        long id, ScheduleService schedules, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        return Answer(id, await schedules.PauseAsync(id, cancellationToken));
    }

    public static async Task<Results<Ok<ScheduleResponse>, ValidationProblem, ProblemHttpResult>> ResumeSchedule(
        long id, ScheduleService schedules, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        return Answer(id, await schedules.ResumeAsync(id, cancellationToken));
    }

    public static async Task<Results<Created<RunResponse>, ProblemHttpResult>> TriggerSchedule(
        long id, ScheduleService schedules, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        var run = await schedules.TriggerAsync(id, cancellationToken);
        return run is null ? NotFound(id) : TypedResults.Created($"/runs/{run.Id}", RunResponse.From(run, withAttempts: false));
    }

    /// <summary>A change's answer: the schedule, the problem with the request, or 404 when there is no such schedule.</summary>
    private static Results<Ok<ScheduleResponse>, ValidationProblem, ProblemHttpResult> Answer(long id, (Core.Model.Schedule? Schedule, ValidationErrors? Errors) result) =>
        result.Schedule is { } schedule ? TypedResults.Ok(ScheduleResponse.From(schedule))
            : result.Errors is { } errors ? errors.ToProblem()
            : NotFound(id);

    private static ProblemHttpResult NotFound(long id) => Problems.NotFound($"Schedule {id} not found");
}
