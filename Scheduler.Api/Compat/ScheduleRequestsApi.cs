using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Scheduler.Api.Schedules;
using Scheduler.Core.Reconciliation;

namespace Scheduler.Api.Compat;

/// <summary>
/// Seed 000's Schedule Requests (Frappe): <c>add_request</c> queues a method — a named job, or an HTTP
/// URL called with <c>data</c> as its JSON body — with callbacks (URLs, a named header profile) and the
/// reference fields passed through; a Schedule Request's status is Pending, Processing, Success or
/// Failed; each run is a Schedule Response; <c>process_pending_and_failed</c> re-enqueues. Answers are
/// Frappe's <c>{"message": …}</c>. A Schedule Request is an IMMEDIATE schedule (source <c>frappe</c>),
/// named <c>SR-&lt;id&gt;</c>.
/// </summary>
internal static class ScheduleRequestsApi
{
    public const string Source = "frappe";

    public static RouteGroupBuilder MapScheduleRequests(this RouteGroupBuilder group)
    {
        group.MapPost("/add_request", AddRequest).WithName("FrappeAddRequest")
            .WithSummary("Schedule Requests: queue a method (a named job or an http(s) URL) with data, callbacks and references.");
        group.MapGet("/schedule_request/{name}", GetRequest).WithName("FrappeGetScheduleRequest").WithSummary("Schedule Requests: one request and its status.");
        group.MapGet("/schedule_response", ListResponses).WithName("FrappeListScheduleResponses")
            .WithSummary("Schedule Requests: the Schedule Responses (one per run) of ?schedule_request=SR-….");
        group.MapPost("/process_pending_and_failed", ProcessPendingAndFailed).WithName("FrappeProcessPendingAndFailed")
            .WithSummary("Schedule Requests: re-enqueue every Pending request that stopped progressing and every Failed one.");
        return group;
    }

    private static IResult Message(JsonNode? message, int status = StatusCodes.Status200OK) =>
        Results.Content(new JsonObject { ["message"] = message }.ToJsonString(), "application/json", statusCode: status);

    /// <summary>Frappe's error shape: the exception type and its message.</summary>
    private static IResult Error(string message, int status = StatusCodes.Status417ExpectationFailed) =>
        Results.Content(new JsonObject { ["exc_type"] = status == StatusCodes.Status404NotFound ? "DoesNotExistError" : "ValidationError", ["exception"] = message, ["_server_messages"] = message }.ToJsonString(),
            "application/json", statusCode: status);

    public static string Name(long id) => $"SR-{id.ToString("D5", CultureInfo.InvariantCulture)}";

    private static long? ParseName(string name) =>
        name.StartsWith("SR-", StringComparison.Ordinal) && long.TryParse(name.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;

    private static async Task<IResult> AddRequest(HttpContext context, [AsParameters] CompatServices services, IOptions<CompatOptions> options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        var (body, bodyError) = await CompatHosting.ReadObjectAsync(context.Request);
        if (body is null)
        {
            return Error(bodyError!);
        }
        if (CompatHosting.Text(body, "method") is not { Length: > 0 } method)
        {
            return Error("method is required: a registered job's name or an http(s) URL");
        }
        var data = body["data"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) && TryParse(s) is { } parsed => parsed,
            var node => node?.DeepClone(),
        };
        Dictionary<string, string>? headers = null;
        if (CompatHosting.Text(body, "callback_profile") is { Length: > 0 } profile)
        {
            if (!options.Value.CallbackProfiles.TryGetValue(profile, out var configured))
            {
                return Error($"callback_profile '{profile}' is not configured (Compat:CallbackProfiles:{profile}:Headers:<header>); configured: {string.Join(", ", options.Value.CallbackProfiles.Keys)}");
            }
            // A profile's headers go only where it was configured to send them, never to a URL the caller picks.
            foreach (var field in new[] { "callback_url", "error_callback_url" })
            {
                if (CompatHosting.Text(body, field) is { Length: > 0 } callback && !configured.Allows(callback))
                {
                    return Error($"{field} '{callback}' is not one of the URLs callback_profile '{profile}' may be sent to (Compat:CallbackProfiles:{profile}:Urls)");
                }
            }
            headers = new Dictionary<string, string>(configured.Headers);
        }
        var isJob = await services.Db.JobTypes.AnyAsync(j => j.Name == method, cancellationToken);
        if (!isJob && !(Uri.TryCreate(method, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"))
        {
            var jobs = await services.Db.JobTypes.Select(j => j.Name).OrderBy(n => n).ToListAsync(cancellationToken);
            return Error($"method '{method}' is neither a registered job ({string.Join(", ", jobs)}) nor an http(s) URL");
        }
        var request = new ScheduleRequest(
            Name: $"Schedule Request: {method}", TargetId: null,
            Target: isJob ? null : new TargetRequest(null, method, "POST", null, null, data?.ToJsonString(), null),
            ScheduleType: "IMMEDIATE", RunAt: null, IntervalSeconds: null, DurationSeconds: null, StartAt: null, EndAt: null, CronExpression: null, TimeZone: null,
            OverlapPolicy: "ALLOW", CatchUpPolicy: null,
            JobName: isJob ? method : null,
            Args: isJob && data is not null ? JsonSerializer.SerializeToElement(data) : null,
            CallbackUrl: CompatHosting.Text(body, "callback_url"),
            ErrorCallbackUrl: CompatHosting.Text(body, "error_callback_url"),
            CallbackHeaders: headers,
            NoResponse: body["no_response"] is JsonValue noResponse && (noResponse.TryGetValue<bool>(out var b) ? b : noResponse.TryGetValue<int>(out var i) && i != 0),
            ReferenceId: CompatHosting.Text(body, "reference_id"),
            RefDoctype: CompatHosting.Text(body, "ref_doctype"),
            RefDocname: CompatHosting.Text(body, "ref_docname"),
            Tag: CompatHosting.Text(body, "tag"));
        var extra = new JsonObject { ["method"] = method, ["data"] = data?.DeepClone(), ["callback_profile"] = CompatHosting.Text(body, "callback_profile") };
        var (schedule, errors) = await services.Schedules.CreateAsync(request, new ScheduleOrigin(Source, null, extra.ToJsonString()), services.User, cancellationToken);
        if (schedule is null)
        {
            return Error(CompatHosting.Describe(errors));
        }
        return Message(await RequestAsync(services, schedule.Id, cancellationToken));
    }

    private static JsonNode? TryParse(string text)
    {
        try
        {
            return text.TrimStart().StartsWith('{') || text.TrimStart().StartsWith('[') ? JsonNode.Parse(text) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<IResult> GetRequest(string name, [AsParameters] CompatServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        return ParseName(name) is { } id && await RequestAsync(services, id, cancellationToken) is { } request
            ? Message(request)
            : Error($"Schedule Request {name} not found", StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> ListResponses(HttpContext context, [AsParameters] CompatServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var name = context.Request.Query["schedule_request"].ToString();
        if (ParseName(name) is not { } id || !await services.Db.Schedules.AnyAsync(s => s.Id == id && s.Source == Source, cancellationToken))
        {
            return Error($"Schedule Request '{name}' not found", StatusCodes.Status404NotFound);
        }
        var schedule = await services.Db.Schedules.AsNoTracking().FirstAsync(s => s.Id == id, cancellationToken);
        var runs = await services.Db.Runs.AsNoTracking().Where(r => r.ScheduleId == id && r.CompletedAt != null).OrderBy(r => r.Id).ToListAsync(cancellationToken);
        return Message(new JsonArray([.. runs.Select(r => (JsonNode?)Response(schedule, r))]));
    }

    /// <summary>A Schedule Response: one finished run, in seed 000's fields.</summary>
    private static JsonObject Response(Schedule schedule, Run run)
    {
        var success = run.Status == RunStatus.Success;
        return new JsonObject
        {
            ["name"] = $"SRES-{run.Id.ToString("D5", CultureInfo.InvariantCulture)}",
            ["schedule_request"] = Name(schedule.Id),
            ["process_status"] = success ? "Success" : "Failed",
            ["data"] = schedule.NoResponse ? null : TryParse(run.ResponseExcerpt ?? "") ?? (JsonNode?)run.ResponseExcerpt,
            ["reference_id"] = schedule.ReferenceId,
            ["request_id"] = Name(schedule.Id),
            ["ref_doctype"] = schedule.RefDoctype,
            ["ref_docname"] = schedule.RefDocname,
            ["error"] = success ? null : run.ErrorMessage,
            // A named job's stack trace stays in the worker's log; error says what failed.
            ["traceback"] = null,
            ["tag"] = schedule.Tag,
            ["run_id"] = run.Id,
            ["status_code"] = run.StatusCode,
            ["creation"] = run.CompletedAt,
        };
    }

    /// <summary>A Schedule Request document: the request as given, and its status from its latest run.</summary>
    private static async Task<JsonObject?> RequestAsync(CompatServices services, long id, CancellationToken cancellationToken)
    {
        var schedule = await services.Db.Schedules.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id && s.Source == Source, cancellationToken);
        if (schedule is null)
        {
            return null;
        }
        var run = await services.Db.Runs.AsNoTracking().Where(r => r.ScheduleId == id).OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id).FirstOrDefaultAsync(cancellationToken);
        var extra = JsonNode.Parse(schedule.ExternalData ?? "{}")!.AsObject();
        return new JsonObject
        {
            ["name"] = Name(schedule.Id),
            ["doctype"] = "Schedule Request",
            ["method"] = extra["method"]?.DeepClone(),
            ["data"] = extra["data"]?.DeepClone(),
            ["status"] = run?.Status switch
            {
                null or RunStatus.Pending => "Pending",
                RunStatus.Running or RunStatus.Waiting => "Processing",
                RunStatus.Success => "Success",
                _ => "Failed",
            },
            ["callback_url"] = schedule.CallbackUrl,
            ["error_callback_url"] = schedule.ErrorCallbackUrl,
            ["callback_profile"] = extra["callback_profile"]?.DeepClone(),
            ["tag"] = schedule.Tag,
            ["reference_id"] = schedule.ReferenceId,
            ["ref_doctype"] = schedule.RefDoctype,
            ["ref_docname"] = schedule.RefDocname,
            ["no_response"] = schedule.NoResponse ? 1 : 0,
            ["schedule_id"] = schedule.Id,
            ["run_id"] = run?.Id,
            ["attempts"] = run?.AttemptCount ?? 0,
            ["creation"] = schedule.CreatedAt,
            ["modified"] = run?.UpdatedAt ?? schedule.UpdatedAt,
        };
    }

    /// <summary>Seed 000's recovery: stuck Pending requests are repaired by reconciliation, Failed ones run again.</summary>
    private static async Task<IResult> ProcessPendingAndFailed([AsParameters] CompatServices services, Reconciler reconciler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(reconciler);
        var report = await reconciler.RunAsync("frappe", cancellationToken);
        var failed = await services.Db.Runs.AsNoTracking()
            .Where(r => r.Schedule!.Source == Source && r.Schedule.DeletedAt == null && r.Status != RunStatus.Success && r.Status != RunStatus.Pending && r.Status != RunStatus.Running && r.Status != RunStatus.Waiting
                        && !services.Db.Runs.Any(later => later.ScheduleId == r.ScheduleId && later.Id > r.Id))
            .Select(r => r.Id).ToListAsync(cancellationToken);
        var requeued = new JsonArray();
        foreach (var runId in failed)
        {
            var (run, reopened) = await services.Runs.RetryAsync(runId, "process_pending_and_failed: re-enqueued", cancellationToken);
            if (run is not null && reopened)
            {
                requeued.Add(Name(run.ScheduleId));
            }
        }
        return Message(new JsonObject
        {
            ["failed_requeued"] = requeued,
            ["pending_repaired"] = new JsonArray([.. report.Repairs.Where(r => r.ScheduleId is not null).Select(r => (JsonNode?)new JsonObject { ["kind"] = r.Kind, ["schedule_id"] = r.ScheduleId, ["run_id"] = r.RunId, ["remark"] = r.Remark })]),
            ["reconciliation_skipped"] = report.Skipped,
        });
    }
}
