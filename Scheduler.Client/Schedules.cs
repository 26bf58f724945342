using System.Text.Json;

namespace Scheduler.Client;

/// <summary>
/// A schedule to create (<c>POST /schedules</c>) or change (<c>PUT /schedules/{id}</c>, where properties
/// left null keep their values): what to call (<see cref="TargetId"/>, <see cref="Target"/> or
/// <see cref="JobName"/>), and when.
/// </summary>
public sealed record ScheduleRequest
{
    /// <summary>A label for people; need not be unique.</summary>
    public string? Name { get; init; }

    /// <summary>An existing target to call.</summary>
    public long? TargetId { get; init; }

    /// <summary>A target given inline.</summary>
    public TargetRequest? Target { get; init; }

    /// <summary>When it fires.</summary>
    public ScheduleType? ScheduleType { get; init; }

    /// <summary>ONCE: an ISO-8601 time, Unix seconds, or relative (<c>+90s</c>, <c>+10m</c>, <c>+6h</c>, <c>+2d</c>); see <see cref="ScheduleTime"/>.</summary>
    public string? RunAt { get; init; }

    /// <summary>INTERVAL and WINDOW: seconds between runs.</summary>
    public int? IntervalSeconds { get; init; }

    /// <summary>WINDOW: how long the window stays open (or give <see cref="EndAt"/>).</summary>
    public int? DurationSeconds { get; init; }

    /// <summary>INTERVAL and WINDOW: the first run (default now); CRON: no run before it. Forms as <see cref="RunAt"/>.</summary>
    public string? StartAt { get; init; }

    /// <summary>WINDOW: when the window closes; CRON: no run at or after it. Forms as <see cref="RunAt"/>.</summary>
    public string? EndAt { get; init; }

    /// <summary>CRON: 5 fields, 6 with seconds first, or a preset such as EVERY_HOUR.</summary>
    public string? CronExpression { get; init; }

    /// <summary>CRON: an IANA time zone (default UTC).</summary>
    public string? TimeZone { get; init; }

    /// <summary>Whether a run may start while an earlier one is going (default SKIP).</summary>
    public OverlapPolicy? OverlapPolicy { get; init; }

    /// <summary>What happens to occurrences missed while nothing ran (default ONE).</summary>
    public CatchUpPolicy? CatchUpPolicy { get; init; }

    /// <summary>A named job to run instead of an HTTP call (<c>GET /jobs</c> lists them).</summary>
    public string? JobName { get; init; }

    /// <summary>JSON arguments for the named job.</summary>
    public JsonElement? Args { get; init; }

    /// <summary>The status codes that count as success; default any 2xx.</summary>
    public IReadOnlyList<int>? ExpectedHttpStatus { get; init; }

    /// <summary>Attempts and backoff for failed calls; defaults from the server's configuration.</summary>
    public RetrySettings? Retry { get; init; }

    /// <summary>A run whose first attempt would start this many seconds or more after its due time is SKIPPED (0: every run).</summary>
    public int? MaxDelaySeconds { get; init; }

    /// <summary>Receives the outcome of each run (POST, JSON).</summary>
    public string? CallbackUrl { get; init; }

    /// <summary>Receives the outcome of failed runs instead of <see cref="CallbackUrl"/>.</summary>
    public string? ErrorCallbackUrl { get; init; }

    /// <summary>Headers sent with callbacks.</summary>
    public IDictionary<string, string>? CallbackHeaders { get; init; }

    /// <summary>Do not keep the response body.</summary>
    public bool? NoResponse { get; init; }

    /// <summary>Passed through to callbacks.</summary>
    public string? ReferenceId { get; init; }

    /// <summary>Passed through to callbacks.</summary>
    public string? RefDoctype { get; init; }

    /// <summary>Passed through to callbacks.</summary>
    public string? RefDocname { get; init; }

    /// <summary>Passed through to callbacks.</summary>
    public string? Tag { get; init; }

    /// <summary>
    /// Schedules that get one run (trigger CONTINUATION) when a run of this one finishes a given way (at most 20,
    /// no cycles). On update, a list replaces the schedule's continuations (empty removes them); null keeps them.
    /// </summary>
    public IReadOnlyList<Continuation>? Continuations { get; init; }
}

/// <summary>One of a schedule's continuations: when its run finishes as <see cref="When"/> says, <see cref="ScheduleId"/> gets a run.</summary>
public sealed record Continuation(ContinuationWhen When, long ScheduleId);

/// <summary>The time forms <see cref="ScheduleRequest.RunAt"/>, <c>start_at</c> and <c>end_at</c> accept.</summary>
public static class ScheduleTime
{
    /// <summary>An absolute time, as ISO-8601.</summary>
    /// <param name="time">The time.</param>
    /// <returns>The wire form.</returns>
    public static string At(DateTimeOffset time) => time.ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A time relative to the server's clock when it receives the request (<c>+90s</c>).</summary>
    /// <param name="delay">How long after now; whole seconds.</param>
    /// <returns>The wire form.</returns>
    public static string In(TimeSpan delay) =>
        "+" + ((long)Math.Ceiling(delay.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture) + "s";
}

/// <summary>Several schedules to create at once (<c>POST /schedules/bulk</c>): all of them, or none.</summary>
public sealed record BulkScheduleRequest
{
    /// <summary>The schedules, each as <c>POST /schedules</c> takes it.</summary>
    public IReadOnlyList<ScheduleRequest> Schedules { get; init; } = [];
}

/// <summary>The schedules a bulk request created, in the order given.</summary>
public sealed record BulkScheduleResponse
{
    /// <summary>How many were created.</summary>
    public int Count { get; init; }

    /// <summary>The schedules created.</summary>
    public IReadOnlyList<Schedule> Schedules { get; init; } = [];
}

/// <summary>How failed calls are retried.</summary>
public sealed record RetrySettings
{
    /// <summary>Attempts in all, the first included.</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>Delay before the second attempt; doubling after, with jitter.</summary>
    public int? InitialIntervalSeconds { get; init; }

    /// <summary>The longest delay between attempts.</summary>
    public int? MaxIntervalSeconds { get; init; }
}

/// <summary>A schedule as the API shows it.</summary>
public sealed record Schedule
{
    /// <summary>Its id.</summary>
    public long Id { get; init; }

    /// <summary>Its label.</summary>
    public string? Name { get; init; }

    /// <summary>The target called, if a stored one.</summary>
    public long? TargetId { get; init; }

    /// <summary>The inline target, if one was given.</summary>
    public Target? Target { get; init; }

    /// <summary>When it fires.</summary>
    public ScheduleType ScheduleType { get; init; }

    /// <summary>Its state.</summary>
    public ScheduleStatus Status { get; init; }

    /// <summary>ONCE: when it runs.</summary>
    public DateTimeOffset? RunAt { get; init; }

    /// <summary>INTERVAL and WINDOW: seconds between runs.</summary>
    public int? IntervalSeconds { get; init; }

    /// <summary>WINDOW: seconds the window stays open.</summary>
    public int? DurationSeconds { get; init; }

    /// <summary>The first run (INTERVAL, WINDOW) or no run before it (CRON).</summary>
    public DateTimeOffset? StartAt { get; init; }

    /// <summary>When the window closes (WINDOW) or no run at or after it (CRON).</summary>
    public DateTimeOffset? EndAt { get; init; }

    /// <summary>CRON: the expression.</summary>
    public string? CronExpression { get; init; }

    /// <summary>CRON: the time zone.</summary>
    public string? TimeZone { get; init; }

    /// <summary>Whether runs may overlap.</summary>
    public OverlapPolicy OverlapPolicy { get; init; }

    /// <summary>What happens to missed occurrences.</summary>
    public CatchUpPolicy CatchUpPolicy { get; init; }

    /// <summary>The named job run instead of an HTTP call.</summary>
    public string? JobName { get; init; }

    /// <summary>The named job's arguments.</summary>
    public JsonElement? Args { get; init; }

    /// <summary>The status codes that count as success (empty: any 2xx).</summary>
    public IReadOnlyList<int> ExpectedHttpStatus { get; init; } = [];

    /// <summary>How failed calls are retried.</summary>
    public RetrySettings Retry { get; init; } = new();

    /// <summary>Runs starting this many seconds late or more are skipped.</summary>
    public int? MaxDelaySeconds { get; init; }

    /// <summary>Receives the outcome of each run.</summary>
    public string? CallbackUrl { get; init; }

    /// <summary>Receives the outcome of failed runs.</summary>
    public string? ErrorCallbackUrl { get; init; }

    /// <summary>Headers sent with callbacks; secret values masked.</summary>
    public IReadOnlyDictionary<string, string> CallbackHeaders { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether response bodies are discarded.</summary>
    public bool NoResponse { get; init; }

    /// <summary>The schedules that get a run when a run of this one finishes a given way, in the order given.</summary>
    public IReadOnlyList<Continuation> Continuations { get; init; } = [];

    /// <summary>Passed through to callbacks.</summary>
    public string? ReferenceId { get; init; }

    /// <summary>Passed through to callbacks.</summary>
    public string? RefDoctype { get; init; }

    /// <summary>Passed through to callbacks.</summary>
    public string? RefDocname { get; init; }

    /// <summary>Passed through to callbacks.</summary>
    public string? Tag { get; init; }

    /// <summary>When it runs next (null when it will not).</summary>
    public DateTimeOffset? NextRunAt { get; init; }

    /// <summary>When it last ran.</summary>
    public DateTimeOffset? LastRunAt { get; init; }

    /// <summary>What happened to it that a person should know (repairs, stops).</summary>
    public IReadOnlyList<string> Remarks { get; init; } = [];

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The contract it came through: <c>api</c> or a seed adapter's name.</summary>
    public string Source { get; init; } = "";

    /// <summary>The adapter's own key, if any.</summary>
    public string? ExternalKey { get; init; }
}
