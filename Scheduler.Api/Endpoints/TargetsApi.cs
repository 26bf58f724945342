using Microsoft.AspNetCore.Http.HttpResults;
using Scheduler.Api.Http;
using Scheduler.Api.Targets;

namespace Scheduler.Api.Endpoints;

/// <summary>Targets over HTTP, exactly as seed 001's API has them: each handler maps the request to <see cref="TargetService"/> and its result to an answer.</summary>
internal static class TargetsApi
{
    public static IEndpointRouteBuilder MapTargetsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/targets").WithTags("Targets");
        api.MapPost("", CreateTarget).WithName("CreateTarget").WithSummary("Create a target.");
        api.MapGet("", ListTargets).WithName("ListTargets")
            .WithSummary("List named targets by id, limit at a time (default 100). With 'cursor' (empty for the first page) the answer is a page with next_cursor; without, a list and X-Next-Cursor.");
        api.MapGet("/{id:long}", GetTarget).WithName("GetTarget").WithSummary("Get a target.");
        api.MapPut("/{id:long}", UpdateTarget).WithName("UpdateTarget")
            .WithSummary("Change a target; fields not given keep their values. Schedules using it call the new values. A url at another origin drops the secret headers and signing secret not given again.");
        api.MapDelete("/{id:long}", DeleteTarget).WithName("DeleteTarget")
            .WithSummary("Delete a target that no live schedule uses.");
        return app;
    }

    public static async Task<Results<Created<TargetResponse>, ValidationProblem>> CreateTarget(
        TargetRequest request, TargetService targets, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var (target, errors) = await targets.CreateAsync(request, cancellationToken);
        return target is null ? errors.ToProblem() : TypedResults.Created($"/targets/{target.Id}", TargetResponse.From(target));
    }

    public static Task<Results<Ok<List<TargetResponse>>, Ok<Page<TargetResponse>>, ValidationProblem>> ListTargets(
        [AsParameters] Paging.Query query, Paging paging, TargetService targets, HttpResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(paging);
        ArgumentNullException.ThrowIfNull(targets);
        return paging.ByIdAsync(query, response, (after, skip, take) => targets.ListAsync(after, skip, take, cancellationToken), t => t.Id, TargetResponse.From);
    }

    public static async Task<Results<Ok<TargetResponse>, ProblemHttpResult>> GetTarget(long id, TargetService targets, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var target = await targets.GetAsync(id, cancellationToken);
        return target is null ? NotFound(id) : TypedResults.Ok(TargetResponse.From(target));
    }

    public static async Task<Results<Ok<TargetResponse>, ValidationProblem, ProblemHttpResult>> UpdateTarget(
        long id, TargetRequest request, TargetService targets, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var (target, errors) = await targets.UpdateAsync(id, request, cancellationToken);
        return target is not null ? TypedResults.Ok(TargetResponse.From(target))
            : errors is not null ? errors.ToProblem()
            : NotFound(id);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteTarget(long id, TargetService targets, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var deletion = await targets.DeleteAsync(id, cancellationToken);
        if (!deletion.Found)
        {
            return NotFound(id);
        }
        return deletion.Deleted ? TypedResults.NoContent()
            : TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The target is in use.",
                detail: $"Target {id} is used by schedule(s) {string.Join(", ", deletion.UsedBy)}; delete or change them first.");
    }

    private static ProblemHttpResult NotFound(long id) => Problems.NotFound($"Target {id} not found");
}
