using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Scheduler.Api.Schedules;

namespace Scheduler.Api.Compat;

/// <summary>
/// Seed 002, callme: <c>PUT /task/&lt;name&gt;</c> registers a call for a minute in the future; a name holds
/// one entry per <c>trigger_at</c>. Each entry is a ONCE schedule (source <c>callme</c>, external key
/// <c>name@trigger_at</c>) with an inline target; its state comes from its latest run.
/// </summary>
internal static partial class CallmeApi
{
    public const string Source = "callme";
    private const int PageSize = 100;

    /// <summary>The last minute of year 9999: the latest time the model stores.</summary>
    private const long MaxTriggerAt = 253_402_300_740;

    public static RouteGroupBuilder MapCallme(this RouteGroupBuilder group)
    {
        group.MapPut("/task/{name}", PutTask).WithName("CallmePutTask").WithSummary("callme: schedule a call (trigger_at, callback, …).");
        group.MapGet("/task", (HttpContext c, [AsParameters] CompatServices s, CancellationToken ct) => StatusAsync(c, s, null, ct)).WithName("CallmeListTasks")
            .WithSummary("callme: every entry (paginated: next, start_from, future_only).");
        group.MapGet("/task/{key}", (HttpContext c, [AsParameters] CompatServices s, string key, CancellationToken ct) => StatusAsync(c, s, key, ct)).WithName("CallmeGetTask")
            .WithSummary("callme: the state of name@trigger_at, or of every entry of a name.");
        group.MapGet("/status", (HttpContext c, [AsParameters] CompatServices s, CancellationToken ct) => StatusAsync(c, s, null, ct)).WithName("CallmeListStatus")
            .WithSummary("callme: the state of every entry (paginated: next, start_from, future_only).");
        group.MapGet("/status/{key}", (HttpContext c, [AsParameters] CompatServices s, string key, CancellationToken ct) => StatusAsync(c, s, key, ct)).WithName("CallmeGetStatus")
            .WithSummary("callme: the state of name@trigger_at, of every entry of a name, or of all (paginated: next, start_from, future_only).");
        group.MapPost("/reschedule/{key}", Reschedule).WithName("CallmeReschedule")
            .WithSummary("callme: run failed entries (all entries with all=true) again at trigger_at (default: the next minute).");
        return group;
    }

    private static IResult Error(HttpContext context, string message, int status = StatusCodes.Status400BadRequest) =>
        CompatHosting.Json(context, new JsonObject { ["error"] = message }, status);

    private static IResult Message(HttpContext context, string message, int status = StatusCodes.Status200OK) =>
        CompatHosting.Json(context, new JsonObject { ["message"] = message }, status);

    [GeneratedRegex(@"^\+(?<n>[0-9]{1,6})(?<unit>[mhd])$")]
    private static partial Regex Relative();

    [GeneratedRegex(@"^[0-9]{1,12}$")]
    private static partial Regex Timestamp();

    /// <summary>
    /// callme's trigger_at: a Unix timestamp on a minute boundary in the future, or <c>+&lt;n&gt;{m,h,d}</c>
    /// from now (rounded up to the next whole minute).
    /// </summary>
    internal static (long? UnixSeconds, string? Error) ParseTriggerAt(string? value, DateTimeOffset now)
    {
        const string Expected = "trigger_at must be a Unix timestamp on a minute boundary or +<integer>{m,h,d}";
        if (string.IsNullOrEmpty(value))
        {
            return (null, $"{Expected}; it is empty.");
        }
        long seconds;
        if (Relative().Match(value) is { Success: true } relative)
        {
            var n = long.Parse(relative.Groups["n"].Value, CultureInfo.InvariantCulture);
            var unit = relative.Groups["unit"].Value switch { "m" => 60L, "h" => 3600L, _ => 86_400L };
            if (n == 0)
            {
                return (null, $"{Expected}; +0 is not in the future.");
            }
            var at = now.ToUnixTimeSeconds() + (n * unit);
            seconds = (at + 59) / 60 * 60;
        }
        else if (Timestamp().IsMatch(value))
        {
            seconds = long.Parse(value, CultureInfo.InvariantCulture);
            if (seconds % 60 != 0)
            {
                return (null, $"{Expected}; {value} is not on a minute boundary.");
            }
        }
        else
        {
            return (null, $"{Expected}; got '{value}'.");
        }
        if (seconds <= now.ToUnixTimeSeconds())
        {
            return (null, $"trigger_at {seconds} is in the past.");
        }
        return seconds > MaxTriggerAt ? (null, $"{Expected}; {value} is too far in the future.") : (seconds, null);
    }

    private static async Task<IResult> PutTask(HttpContext context, string name, [AsParameters] CompatServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (name.Contains('@', StringComparison.Ordinal) || name.Length > 180)
        {
            return Error(context, "the task name must not contain '@' and must be at most 180 characters");
        }
        var (body, bodyError) = await CompatHosting.ReadObjectAsync(context.Request);
        if (body is null)
        {
            return Error(context, bodyError!);
        }
        var now = services.Time.GetUtcNow();
        var (trigger, triggerError) = ParseTriggerAt(CompatHosting.Text(body, "trigger_at"), now);
        if (trigger is null)
        {
            return Error(context, triggerError!);
        }
        if (CompatHosting.Text(body, "callback") is not { Length: > 0 } callback)
        {
            return Error(context, "callback is required: the URL to call");
        }
        if (!TryInt(body, "expected_http_status", 200, out var expected) || !TryInt(body, "retry", 1, out var retry) || !TryInt(body, "max_delay", 10, out var maxDelay)
            || expected is < 100 or > 599 || retry is < 0 or > 100 || maxDelay is < 0 or > 527_040)
        {
            return Error(context, "expected_http_status must be an HTTP status (100-599), retry a number of retries (0-100) and max_delay minutes (0-527040)");
        }
        var payload = CompatHosting.Text(body, "payload");
        var request = new ScheduleRequest(
            Name: name, TargetId: null,
            Target: new TargetRequest(null, callback, CompatHosting.Text(body, "callback_method") ?? "GET", null, null, string.IsNullOrEmpty(payload) ? null : payload, null),
            ScheduleType: "ONCE", RunAt: JsonSerializer.SerializeToElement(trigger.Value), IntervalSeconds: null, DurationSeconds: null, StartAt: null, EndAt: null,
            CronExpression: null, TimeZone: null, OverlapPolicy: null, CatchUpPolicy: null,
            ExpectedHttpStatus: JsonSerializer.SerializeToElement(expected),
            Retry: new RetryRequest(retry + 1, null, null),
            MaxDelaySeconds: maxDelay * 60);
        var key = Key(name, trigger.Value);

        // A PUT that finds no entry creates it; when a concurrent PUT created it first (the unique key
        // refuses the second), this one looks again and updates it: one entry per name@trigger_at.
        for (var attempt = 1; ; attempt++)
        {
            var existing = await services.Db.Schedules.AsNoTracking()
                .Where(s => s.Source == Source && s.ExternalKey == key && s.DeletedAt == null)
                .Select(s => new { s.Id, Started = services.Db.Runs.Any(r => r.ScheduleId == s.Id && r.Status != RunStatus.Pending) })
                .FirstOrDefaultAsync(cancellationToken);
            if (existing is { Started: true })
            {
                return Error(context, $"task {key} has already run; use POST /reschedule/{key} to run it again", StatusCodes.Status409Conflict);
            }
            if (existing is not null)
            {
                var (updated, updateErrors) = await services.Schedules.UpdateAsync(existing.Id, request, services.User, null, cancellationToken);
                return updated is null ? Error(context, updateErrors is null ? $"task {key} not found" : CompatHosting.Describe(updateErrors)) : Message(context, $"task {key} updated");
            }
            try
            {
                var (schedule, errors) = await services.Schedules.CreateAsync(request, new ScheduleOrigin(Source, key), services.User, cancellationToken);
                return schedule is null ? Error(context, CompatHosting.Describe(errors)) : Message(context, $"task {key} scheduled", StatusCodes.Status201Created);
            }
            catch (Exception ex) when (CompatHosting.IsKeyTaken(ex))
            {
                if (attempt == 2)
                {
                    return Error(context, $"task {key} is being changed by another request; try again", StatusCodes.Status409Conflict);
                }
            }
        }
    }

    private static string Key(string name, long triggerAt) => $"{name}@{triggerAt.ToString(CultureInfo.InvariantCulture)}";

    private static bool TryInt(JsonObject body, string name, int fallback, out int value)
    {
        value = fallback;
        var text = CompatHosting.Text(body, name);
        return text is null || int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
    }

    private sealed record Entry(Schedule Schedule, long? RunId, RunStatus? Status, int Attempts, int? StatusCode, DateTimeOffset? DueAt);

    /// <summary>One entry (name@ts), a name's entries, or all, in callme's paginated object.</summary>
    private static async Task<IResult> StatusAsync(HttpContext context, [AsParameters] CompatServices services, string? key, CancellationToken cancellationToken)
    {
        var now = services.Time.GetUtcNow();
        var query = services.Db.Schedules.AsNoTracking().Include(s => s.Target).Where(s => s.Source == Source && s.DeletedAt == null);
        if (key is not null && key.Contains('@', StringComparison.Ordinal))
        {
            var one = await Load(services, query.Where(s => s.ExternalKey == key), cancellationToken);
            return one.Count == 0 ? Error(context, $"no task {key}", StatusCodes.Status404NotFound) : CompatHosting.Json(context, ToJson(one[0]));
        }
        if (key is not null)
        {
            var prefix = key + "@";
            query = query.Where(s => s.ExternalKey!.StartsWith(prefix));
        }
        if (context.Request.Query.ContainsKey("future_only"))
        {
            query = query.Where(s => s.RunAt > now);
        }
        if (context.Request.Query["start_from"].ToString() is { Length: > 0 } startFrom)
        {
            // Translated to SQL (byte order, through the "C" collation); EF Core does not translate the ordinal overload.
#pragma warning disable CA1309
            query = query.Where(s => string.Compare(EF.Functions.Collate(s.ExternalKey!, "C"), startFrom) >= 0);
#pragma warning restore CA1309
        }
        var entries = await Load(services, query.OrderBy(s => EF.Functions.Collate(s.ExternalKey!, "C")).Take(PageSize + 1), cancellationToken);
        if (key is not null && entries.Count == 0 && !context.Request.Query.ContainsKey("start_from"))
        {
            return Error(context, $"no task {key}", StatusCodes.Status404NotFound);
        }
        var result = new JsonObject();
        foreach (var entry in entries.Take(PageSize))
        {
            result[entry.Schedule.ExternalKey!] = ToJson(entry);
        }
        if (entries.Count > PageSize)
        {
            result["next"] = entries[PageSize].Schedule.ExternalKey;
        }
        return CompatHosting.Json(context, result);
    }

    private static async Task<List<Entry>> Load(CompatServices services, IQueryable<Schedule> query, CancellationToken cancellationToken) =>
        (await query.Select(s => new
        {
            Schedule = s,
            Last = services.Db.Runs.Where(r => r.ScheduleId == s.Id).OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id)
                .Select(r => new { r.Id, r.Status, r.AttemptCount, r.StatusCode, r.DueAt }).FirstOrDefault(),
        }).ToListAsync(cancellationToken))
        .Select(x => new Entry(x.Schedule, x.Last?.Id, x.Last?.Status, x.Last?.AttemptCount ?? 0, x.Last?.StatusCode, x.Last?.DueAt)).ToList();

    internal static string State(RunStatus? status) => status switch
    {
        null or RunStatus.Pending => "pending",
        RunStatus.Running or RunStatus.Waiting => "running",
        RunStatus.Success => "successful",
        _ => "failed",
    };

    /// <summary>The latest run's state, unless the entry's time is after that run (rescheduled): then pending again.</summary>
    private static string StateOf(Entry entry) =>
        entry.DueAt is { } due && entry.Schedule.RunAt > due ? "pending" : State(entry.Status);

    private static JsonObject ToJson(Entry entry)
    {
        var s = entry.Schedule;
        // name@trigger_at; a key the unique index's migration de-duplicated reads name@trigger_at#id.
        var at = s.ExternalKey![(s.ExternalKey!.IndexOf('@', StringComparison.Ordinal) + 1)..].Split('#')[0];
        return new JsonObject
        {
            ["task_name"] = s.Name,
            ["trigger_at"] = long.TryParse(at, NumberStyles.None, CultureInfo.InvariantCulture, out var triggerAt) ? triggerAt : s.RunAt?.ToUnixTimeSeconds(),
            ["callback"] = s.Target?.Url,
            ["callback_method"] = s.Target?.Method,
            ["payload"] = s.Target?.BodyTemplate ?? "",
            ["expected_http_status"] = s.ExpectedHttpStatus.FirstOrDefault(200),
            ["retry"] = Math.Max(0, (s.MaxAttempts ?? 1) - 1),
            ["max_delay"] = (s.MaxDelaySeconds ?? 600) / 60,
            ["state"] = StateOf(entry),
            ["attempts"] = entry.Attempts,
            ["last_status_code"] = entry.StatusCode,
            ["schedule_id"] = s.Id,
            ["run_id"] = entry.RunId,
        };
    }

    /// <summary>Failed entries of name@ts or of a name (every entry with all=true) run again at trigger_at.</summary>
    private static async Task<IResult> Reschedule(HttpContext context, string key, [AsParameters] CompatServices services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var (body, bodyError) = await CompatHosting.ReadObjectAsync(context.Request, optional: true);
        if (body is null)
        {
            return Error(context, bodyError!);
        }
        var now = services.Time.GetUtcNow();
        var given = CompatHosting.Text(body, "trigger_at");
        var (trigger, triggerError) = given is null ? ((now.ToUnixTimeSeconds() / 60 * 60) + 60, null) : ParseTriggerAt(given, now);
        if (trigger is null)
        {
            return Error(context, triggerError!);
        }
        var all = string.Equals(context.Request.Query["all"], "true", StringComparison.OrdinalIgnoreCase);
        var query = services.Db.Schedules.AsNoTracking().Include(s => s.Target).Where(s => s.Source == Source && s.DeletedAt == null);
        query = key.Contains('@', StringComparison.Ordinal) ? query.Where(s => s.ExternalKey == key) : query.Where(s => s.ExternalKey!.StartsWith(key + "@"));
        var entries = await Load(services, query, cancellationToken);
        if (entries.Count == 0)
        {
            return Error(context, $"no task {key}", StatusCodes.Status404NotFound);
        }
        var chosen = entries.Where(e => all || StateOf(e) == "failed").OrderBy(e => e.Schedule.RunAt).ThenBy(e => e.Schedule.Id).ToList();
        if (chosen.Count == 0 && key.Contains('@', StringComparison.Ordinal))
        {
            return Error(context, $"task {key} is {StateOf(entries[0])}; only failed tasks are rescheduled unless all=true", StatusCodes.Status409Conflict);
        }
        var name = key.Split('@')[0];

        // A name holds one entry per minute (its key is name@trigger_at): each entry moved takes the first
        // minute at or after trigger_at that no other entry of the name holds, so entries rescheduled
        // together all survive, each under its own key.
        var taken = (await services.Db.Schedules.AsNoTracking()
            .Where(s => s.Source == Source && s.DeletedAt == null && s.ExternalKey!.StartsWith(name + "@"))
            .Select(s => s.ExternalKey!).ToListAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var moves = new List<(Entry Entry, long At, string Key)>();
        var at = trigger.Value;
        foreach (var entry in chosen)
        {
            while (taken.Contains(Key(name, at)) && Key(name, at) != entry.Schedule.ExternalKey)
            {
                at += 60;
            }
            taken.Add(Key(name, at));
            moves.Add((entry, at, Key(name, at)));
        }
        if (at > MaxTriggerAt)
        {
            return Error(context, $"trigger_at {trigger.Value} leaves no free minutes for {chosen.Count} task(s) of {name}");
        }

        // All of them or none: one transaction; a key another request took meanwhile is a 409.
        try
        {
            await using var transaction = await services.Db.Database.BeginTransactionAsync(cancellationToken);
            foreach (var (entry, newAt, newKey) in moves)
            {
                var request = new ScheduleRequest(null, null, null, "ONCE", JsonSerializer.SerializeToElement(newAt), null, null, null, null, null, null, null, null);
                var (updated, errors) = await services.Schedules.UpdateAsync(entry.Schedule.Id, request, services.User, s => s.ExternalKey = newKey, cancellationToken);
                if (updated is null)
                {
                    return Error(context, errors is null ? $"no task {key}" : CompatHosting.Describe(errors));
                }
            }
            await transaction.CommitAsync(cancellationToken);
        }
        catch (Exception ex) when (CompatHosting.IsKeyTaken(ex))
        {
            return Error(context, $"another request took a key of {name} meanwhile; nothing was rescheduled, try again", StatusCodes.Status409Conflict);
        }
        var message = $"rescheduled {chosen.Count} task(s) of {name} to {trigger.Value.ToString(CultureInfo.InvariantCulture)}";
        return Message(context, moves.Count == 0 ? message : $"{message}: {string.Join(", ", moves.Select(m => m.Key))}");
    }
}
