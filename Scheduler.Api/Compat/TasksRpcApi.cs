using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Scheduler.Api.Schedules;
using Scheduler.Api.Validation;
using Scheduler.Core.Scheduling;

namespace Scheduler.Api.Compat;

/// <summary>
/// Seed 003's tasks RPC: <c>tasks.create</c>, <c>tasks.info</c>, <c>tasks.update</c>, <c>tasks.delete</c>
/// with its envelope <c>{"data", "error", "success"}</c>. A task is a schedule (source <c>tasks</c>,
/// external key its unique name) running a named job: CRON built from <c>recurring_interval</c> and
/// <c>recurring_details</c>, or ONCE at the next matching time for <c>ONE_OFF</c>.
/// </summary>
internal static class TasksRpcApi
{
    public const string Source = "tasks";

    private static readonly string[] DetailFields = ["minute", "hour", "day_of_month", "month_of_year", "day_of_week"];

    /// <summary>
    /// Per interval, the value each unset (<c>*</c>) field takes: the schedule presets' own (a daily task runs
    /// at 00:00, a weekly one on Sunday as EVERY_WEEK does in /schedules, a quarterly one on the 1st of Jan,
    /// Apr, Jul, Oct), so an interval means the same in both.
    /// </summary>
    private static readonly Dictionary<string, string[]> Defaults = new[] { KeyValuePair.Create("ONE_OFF", "* * * * *") }
        .Concat(CronSpec.Presets).ToDictionary(p => p.Key, p => p.Value.Split(' '), StringComparer.Ordinal);

    public static RouteGroupBuilder MapTasksRpc(this RouteGroupBuilder group)
    {
        group.MapPost("/tasks.create", Create).WithName("TasksCreate").WithSummary("tasks RPC: create a task (name, job_name, recurring_interval, recurring_details).");
        group.MapPost("/tasks.info", Info).WithName("TasksInfo").WithSummary("tasks RPC: a task by id.");
        group.MapPost("/tasks.update", Update).WithName("TasksUpdate").WithSummary("tasks RPC: change a task's job or recurrence.");
        group.MapPost("/tasks.delete", Delete).WithName("TasksDelete").WithSummary("tasks RPC: delete a task.");
        return group;
    }

    private static IResult Envelope(JsonNode? data, string? error, int status = StatusCodes.Status200OK) =>
        Results.Content(new JsonObject { ["data"] = data, ["error"] = error, ["success"] = error is null }.ToJsonString(), "application/json", statusCode: status);

    private static IResult Fail(string error, int status = StatusCodes.Status400BadRequest) => Envelope(null, error, status);

    private static async Task<IResult> Create(HttpContext context, [AsParameters] CompatServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var (body, bodyError) = await CompatHosting.ReadObjectAsync(context.Request);
        if (body is null)
        {
            return Fail(bodyError!);
        }
        if (CompatHosting.Text(body, "name") is not { Length: > 0 } name)
        {
            return Fail("name is required");
        }
        var (timing, data, error) = Recurrence(body, CompatHosting.Text(body, "recurring_interval") ?? "ONE_OFF", null, services.Time.GetUtcNow());
        if (timing is null)
        {
            return Fail(error!);
        }
        data["creator"] = context.User.Identity?.Name;
        var request = timing with { Name = name, JobName = CompatHosting.Text(body, "job_name") ?? "" };
        // The name is unique among live tasks: the unique key refuses a taken one, concurrent creates included.
        try
        {
            var (schedule, errors) = await services.Schedules.CreateAsync(request, new ScheduleOrigin(Source, name, data.ToJsonString()), services.User, cancellationToken);
            return schedule is null ? Fail(CompatHosting.Describe(errors)) : Envelope(await TaskAsync(services, schedule.Id, cancellationToken), null);
        }
        catch (Exception ex) when (CompatHosting.IsKeyTaken(ex))
        {
            return NameTaken(name);
        }
    }

    private static IResult NameTaken(string name) => Fail($"a task named '{name}' already exists", StatusCodes.Status409Conflict);

    private static async Task<IResult> Info(HttpContext context, [AsParameters] CompatServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var (id, error) = await IdAsync(context);
        if (id is null)
        {
            return Fail(error!);
        }
        return await TaskAsync(services, id.Value, cancellationToken) is { } task ? Envelope(task, null) : Fail($"task {id} not found", StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> Update(HttpContext context, [AsParameters] CompatServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var (body, bodyError) = await CompatHosting.ReadObjectAsync(context.Request);
        if (body is null || !long.TryParse(CompatHosting.Text(body, "id"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
        {
            return Fail(bodyError ?? "id is required: the task's id");
        }
        var current = await services.Db.Schedules.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id && s.Source == Source && s.DeletedAt == null, cancellationToken);
        if (current is null)
        {
            return Fail($"task {id} not found", StatusCodes.Status404NotFound);
        }
        var stored = JsonNode.Parse(current.ExternalData ?? "{}")!.AsObject();
        var interval = CompatHosting.Text(body, "recurring_interval") ?? stored["recurring_interval"]?.GetValue<string>() ?? "ONE_OFF";
        var (timing, data, error) = Recurrence(body, interval, stored["recurring_details"]?.AsObject(), services.Time.GetUtcNow());
        if (timing is null)
        {
            return Fail(error!);
        }
        data["creator"] = stored["creator"]?.DeepClone();
        var newName = CompatHosting.Text(body, "name");
        var request = timing with { Name = newName, JobName = CompatHosting.Text(body, "job_name") };
        (Schedule? Schedule, ValidationErrors? Errors) result;
        try
        {
            result = await services.Schedules.UpdateAsync(id, request, services.User, s =>
            {
                s.ExternalData = data.ToJsonString();
                s.ExternalKey = newName ?? s.ExternalKey;
            }, cancellationToken);
        }
        catch (Exception ex) when (newName is not null && CompatHosting.IsKeyTaken(ex))
        {
            // Renamed onto another live task's name: refused by the unique key, nothing written.
            return NameTaken(newName);
        }
        var (updated, errors) = result;
        return updated is null
            ? Fail(errors is null ? $"task {id} not found" : CompatHosting.Describe(errors), errors is null ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest)
            : Envelope(await TaskAsync(services, id, cancellationToken), null);
    }

    private static async Task<IResult> Delete(HttpContext context, [AsParameters] CompatServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var (id, error) = await IdAsync(context);
        if (id is null)
        {
            return Fail(error!);
        }
        var task = await TaskAsync(services, id.Value, cancellationToken);
        return task is not null && await services.Schedules.DeleteAsync(id.Value, cancellationToken)
            ? Envelope(task, null)
            : Fail($"task {id} not found", StatusCodes.Status404NotFound);
    }

    private static async Task<(long? Id, string? Error)> IdAsync(HttpContext context)
    {
        var (body, error) = await CompatHosting.ReadObjectAsync(context.Request);
        return body is not null && long.TryParse(CompatHosting.Text(body, "id"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var id)
            ? (id, null)
            : (null, error ?? "id is required: the task's id");
    }

    /// <summary>
    /// The schedule timing for a recurrence: the cron built from the details (given as an object or as a
    /// JSON string, <c>*</c> for unset), and the fields kept to give back as they were given.
    /// </summary>
    private static (ScheduleRequest? Timing, JsonObject Data, string? Error) Recurrence(JsonObject body, string interval, JsonObject? storedDetails, DateTimeOffset now)
    {
        var data = new JsonObject();
        if (!Defaults.TryGetValue(interval, out var defaults))
        {
            return (null, data, $"recurring_interval must be one of {string.Join(", ", Defaults.Keys)} (got '{interval}')");
        }
        JsonObject details;
        switch (body["recurring_details"])
        {
            case null:
                details = storedDetails?.DeepClone().AsObject() ?? new JsonObject();
                break;
            case JsonObject given:
                details = given.DeepClone().AsObject();
                break;
            case JsonValue text when text.TryGetValue<string>(out var json):
                try
                {
                    details = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("not an object");
                }
                catch (JsonException ex)
                {
                    return (null, data, $"recurring_details must be an object or a JSON-stringified object: {ex.Message}");
                }
                break;
            default:
                return (null, data, "recurring_details must be an object or a JSON-stringified object");
        }
        var unknown = details.Select(d => d.Key).Except(DetailFields).ToList();
        if (unknown.Count > 0)
        {
            return (null, data, $"recurring_details has unknown fields: {string.Join(", ", unknown)} (known: {string.Join(", ", DetailFields)})");
        }
        var fields = DetailFields.Select((field, i) =>
        {
            var value = details[field] is { } node ? (node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node.ToJsonString()).Trim() : "*";
            return value is "*" or "" ? defaults[i] : value;
        }).ToArray();
        var cron = string.Join(' ', fields);
        data["recurring_interval"] = interval;
        data["recurring_details"] = details;
        if (interval != "ONE_OFF")
        {
            return (new ScheduleRequest(null, null, null, "CRON", null, null, null, null, null, cron, "UTC", null, null), data, null);
        }
        // ONE_OFF: once, at the next time the details match.
        if (!Cronos.CronExpression.TryParse(cron, out var expression) || expression.GetNextOccurrence(now.UtcDateTime.AddSeconds(1), TimeZoneInfo.Utc) is not { } next)
        {
            return (null, data, $"recurring_details do not make a valid time ('{cron}' as minute hour day_of_month month_of_year day_of_week)");
        }
        var runAt = JsonSerializer.SerializeToElement(new DateTimeOffset(next, TimeSpan.Zero));
        return (new ScheduleRequest(null, null, null, "ONCE", runAt, null, null, null, null, null, null, null, null), data, null);
    }

    /// <summary>A task in seed 003's fields, with the schedule it is.</summary>
    private static async Task<JsonObject?> TaskAsync(CompatServices services, long id, CancellationToken cancellationToken)
    {
        var found = await services.Db.Schedules.AsNoTracking().Where(s => s.Id == id && s.Source == Source && s.DeletedAt == null)
            .Select(s => new
            {
                Schedule = s,
                Last = services.Db.Runs.Where(r => r.ScheduleId == s.Id).OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id).Select(r => (RunStatus?)r.Status).FirstOrDefault(),
            }).FirstOrDefaultAsync(cancellationToken);
        if (found is null)
        {
            return null;
        }
        var s = found.Schedule;
        var data = JsonNode.Parse(s.ExternalData ?? "{}")!.AsObject();
        return new JsonObject
        {
            ["id"] = s.Id,
            ["name"] = s.ExternalKey,
            ["status"] = found.Last switch
            {
                null or RunStatus.Pending => "CREATED",
                RunStatus.Running or RunStatus.Waiting => "RUNNING",
                RunStatus.Success => "SUCCEEDED",
                _ => "FAILED",
            },
            ["job_name"] = s.JobName,
            ["created_at"] = s.CreatedAt,
            ["recurring_interval"] = data["recurring_interval"]?.DeepClone(),
            ["recurring_details"] = data["recurring_details"]?.DeepClone(),
            ["schedule"] = new JsonObject
            {
                ["schedule_id"] = s.Id,
                ["schedule_type"] = WireName.Of(s.Type),
                ["cron_expression"] = s.CronExpression,
                ["run_at"] = s.RunAt,
                ["next_run_at"] = s.NextRunAt,
                ["status"] = WireName.Of(s.Status),
            },
            ["creator"] = data["creator"]?.DeepClone(),
        };
    }
}
