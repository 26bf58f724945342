using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Scheduler.Api.Schedules;

namespace Scheduler.Api.Compat;

/// <summary>
/// Seed 004's reliable tasks: <c>POST /tasks</c> with <c>{"data": …}</c> runs a named job
/// (<c>Compat:CeleryJob</c>) at once and answers its id; <c>GET /tasks/{id}</c> shows its state,
/// retries, result and remarks. The task is logged in the database before the answer (an IMMEDIATE
/// schedule, source <c>celery</c>), and the reconciliation job catches one that never reports back,
/// writing a remark — seed 004's monitor.
/// </summary>
internal static class CeleryTasksApi
{
    public const string Source = "celery";

    public static RouteGroupBuilder MapCeleryTasks(this RouteGroupBuilder group)
    {
        group.MapPost("/tasks", Submit).WithName("CelerySubmitTask").WithSummary("Reliable tasks: run the configured job with {\"data\": …}; answers the task id.");
        group.MapGet("/tasks/{id:long}", Get).WithName("CeleryGetTask").WithSummary("Reliable tasks: a task's state, retries, result and remarks.");
        return group;
    }

    private static async Task<IResult> Submit(HttpContext context, [AsParameters] CompatServices services, IOptions<CompatOptions> options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        var (body, error) = await CompatHosting.ReadObjectAsync(context.Request);
        if (body is null || !body.ContainsKey("data"))
        {
            return Results.Json(new JsonObject { ["detail"] = error ?? "the body must be {\"data\": …}" }, statusCode: StatusCodes.Status422UnprocessableEntity);
        }
        var args = JsonSerializer.SerializeToElement(new JsonObject { ["data"] = body["data"]?.DeepClone() });
        var request = new ScheduleRequest(null, null, null, "IMMEDIATE", null, null, null, null, null, null, null, null, null, JobName: options.Value.CeleryJob, Args: args);
        var (schedule, errors) = await services.Schedules.CreateAsync(request, new ScheduleOrigin(Source), services.User, cancellationToken);
        if (schedule is null)
        {
            return Results.Json(new JsonObject { ["detail"] = CompatHosting.Describe(errors) }, statusCode: StatusCodes.Status422UnprocessableEntity);
        }
        return Results.Json(new JsonObject { ["task_id"] = schedule.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), ["id"] = schedule.Id, ["status"] = "PENDING" },
            statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> Get(long id, [AsParameters] CompatServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var schedule = await services.Db.Schedules.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id && s.Source == Source, cancellationToken);
        if (schedule is null)
        {
            return Results.Json(new JsonObject { ["detail"] = $"task {id} not found" }, statusCode: StatusCodes.Status404NotFound);
        }
        var run = await services.Db.Runs.AsNoTracking().Where(r => r.ScheduleId == id).OrderBy(r => r.Id).FirstOrDefaultAsync(cancellationToken);
        var status = run?.Status switch
        {
            null => "PENDING",
            RunStatus.Pending when run.AttemptCount > 0 => "RETRY",
            RunStatus.Pending => "PENDING",
            RunStatus.Running or RunStatus.Waiting => "STARTED",
            RunStatus.Success => "SUCCESS",
            _ => "FAILURE",
        };
        JsonNode? result = null;
        if (run?.ResponseExcerpt is { } excerpt)
        {
            try
            {
                result = JsonNode.Parse(excerpt);
            }
            catch (JsonException)
            {
                result = excerpt;
            }
        }
        return Results.Json(new JsonObject
        {
            ["task_id"] = id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["id"] = id,
            ["status"] = status,
            ["data"] = schedule.JobArgs is null ? null : JsonNode.Parse(schedule.JobArgs)?["data"]?.DeepClone(),
            ["retries"] = Math.Max(0, (run?.AttemptCount ?? 0) - 1),
            ["result"] = result,
            ["error"] = run?.ErrorMessage,
            ["remarks"] = new JsonArray([.. (run?.Remarks ?? []).Select(r => (JsonNode?)r)]),
            ["run_id"] = run?.Id,
            ["created_at"] = schedule.CreatedAt,
            ["updated_at"] = run?.UpdatedAt ?? schedule.UpdatedAt,
        });
    }
}
