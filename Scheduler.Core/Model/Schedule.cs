namespace Scheduler.Core.Model;

/// <summary>
/// What to call, when, and with which policy: seed 000's Schedule Request, seeds 002/003's task,
/// seed 001's schedule. Either <see cref="TargetId"/> or <see cref="JobName"/> says what runs.
/// </summary>
public sealed class Schedule
{
    public long Id { get; set; }

    public string? Name { get; set; }

    public long? TargetId { get; set; }

    public Target? Target { get; set; }

    /// <summary>A handler registered in code by name, run instead of an HTTP call.</summary>
    public string? JobName { get; set; }

    /// <summary>JSON arguments for <see cref="JobName"/>.</summary>
    public string? JobArgs { get; set; }

    public ScheduleType Type { get; set; }

    public ScheduleStatus Status { get; set; } = ScheduleStatus.Active;

    // When: each kind uses its own fields. StartAt anchors INTERVAL and WINDOW (their first occurrence)
    // and bounds CRON from below; EndAt closes a WINDOW (or bounds a CRON).
    public DateTimeOffset? RunAt { get; set; }

    public int? IntervalSeconds { get; set; }

    public int? DurationSeconds { get; set; }

    public DateTimeOffset? StartAt { get; set; }

    public DateTimeOffset? EndAt { get; set; }

    public string? CronExpression { get; set; }

    public string? TimeZone { get; set; }

    public DateTimeOffset? NextRunAt { get; set; }

    public DateTimeOffset? LastRunAt { get; set; }

    // Policies.
    public OverlapPolicy OverlapPolicy { get; set; } = OverlapPolicy.Skip;

    public CatchUpPolicy CatchUpPolicy { get; set; } = CatchUpPolicy.One;

    /// <summary>Status codes that count as success; empty means any 2xx (seed 002).</summary>
    public int[] ExpectedHttpStatus { get; set; } = [];

    public int? MaxAttempts { get; set; }

    public int? RetryInitialIntervalSeconds { get; set; }

    public int? RetryMaxIntervalSeconds { get; set; }

    /// <summary>Skip a run whose first attempt would start this long or more after its due time (seed 002).</summary>
    public int? MaxDelaySeconds { get; set; }

    // Outcome delivery (seed 000).
    public string? CallbackUrl { get; set; }

    public string? ErrorCallbackUrl { get; set; }

    public Dictionary<string, string> CallbackHeaders { get; set; } = [];

    /// <summary>Do not keep the response body (seed 000's <c>no_response</c>).</summary>
    public bool NoResponse { get; set; }

    /// <summary>Schedules that get a run when a run of this one finishes a given way, in the order given.</summary>
    public List<ScheduleContinuation> Continuations { get; set; } = [];

    // Pass-through references (seed 000).
    public string? ReferenceId { get; set; }

    public string? RefDoctype { get; set; }

    public string? RefDocname { get; set; }

    public string? Tag { get; set; }

    /// <summary>Which contract created the schedule: <c>api</c>, or a seed adapter's name.</summary>
    public string Source { get; set; } = "api";

    /// <summary>The name of the API key that created the schedule; its active schedules count against <c>Limits:MaxActiveSchedulesPerKey</c>.</summary>
    public string? CreatedBy { get; set; }

    /// <summary>The key an adapter knows the schedule by (a callme task name, a Schedule Request name).</summary>
    public string? ExternalKey { get; set; }

    /// <summary>An adapter's own fields that have no place in the model (JSON), returned to its clients as they gave them.</summary>
    public string? ExternalData { get; set; }

    /// <summary>The W3C <c>traceparent</c> of the request that created the schedule: each recurring run's trace links to it.</summary>
    public string? TraceParent { get; set; }

    /// <summary>Notes written by reconciliation and other repairs, oldest first.</summary>
    public List<string> Remarks { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Set by DELETE: the schedule is gone from the API, its history stays.</summary>
    public DateTimeOffset? DeletedAt { get; set; }

    /// <summary>PostgreSQL's <c>xmin</c>: optimistic concurrency for updates.</summary>
    public uint Version { get; set; }
}
