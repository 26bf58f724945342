namespace Scheduler.Client;

/// <summary>One occurrence of a schedule. <see cref="Attempts"/> and <see cref="CallbackDeliveries"/> are filled by <c>GET /runs/{id}</c> only.</summary>
public sealed record Run
{
    /// <summary>Its id.</summary>
    public long Id { get; init; }

    /// <summary>The schedule it belongs to.</summary>
    public long ScheduleId { get; init; }

    /// <summary>Its state.</summary>
    public RunStatus Status { get; init; }

    /// <summary>What made it exist.</summary>
    public RunTrigger Trigger { get; init; }

    /// <summary>For a <see cref="RunTrigger.Continuation"/> run, the finished run that started it.</summary>
    public long? ParentRunId { get; init; }

    /// <summary>When it was due.</summary>
    public DateTimeOffset DueAt { get; init; }

    /// <summary>When its first attempt started.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it finished.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>How long the last call took, in milliseconds.</summary>
    public double? LatencyMs { get; init; }

    /// <summary>How late the first attempt started after <see cref="DueAt"/>, in milliseconds.</summary>
    public double? LatenessMs { get; init; }

    /// <summary>The HTTP status the target answered.</summary>
    public int? StatusCode { get; init; }

    /// <summary>The size of the response body.</summary>
    public long? ResponseSizeBytes { get; init; }

    /// <summary>The start of the response body (unless the schedule discards it).</summary>
    public string? ResponseExcerpt { get; init; }

    /// <summary>Why the last attempt failed.</summary>
    public ErrorType? ErrorType { get; init; }

    /// <summary>What went wrong, for people.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>Attempts made so far.</summary>
    public int AttemptCount { get; init; }

    /// <summary>What happened to it that a person should know (retries, repairs, skips).</summary>
    public IReadOnlyList<string> Remarks { get; init; } = [];

    /// <summary>The Hangfire job that runs it.</summary>
    public string? HangfireJobId { get; init; }

    /// <summary>The state of its callback, if any.</summary>
    public DeliveryStatus? CallbackStatus { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When its next attempt is due, while a retry waits.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>While WAITING: when the accepted call times out unless completed or extended by a heartbeat.</summary>
    public DateTimeOffset? CompletionDeadlineAt { get; init; }

    /// <summary>The message a callback target completed the run with.</summary>
    public string? CompletionMessage { get; init; }

    /// <summary>The output a callback target completed the run with (<c>GET /runs/{id}</c> only).</summary>
    public System.Text.Json.JsonElement? Output { get; init; }

    /// <summary>Its attempts, oldest first (<c>GET /runs/{id}</c> only).</summary>
    public IReadOnlyList<Attempt>? Attempts { get; init; }

    /// <summary>Its callback deliveries (<c>GET /runs/{id}</c> only).</summary>
    public IReadOnlyList<CallbackDelivery>? CallbackDeliveries { get; init; }

    /// <summary>The W3C trace id (32 hex digits) of its trace: its attempts, calls and callbacks are in it.</summary>
    public string? TraceId { get; init; }
}

/// <summary>One attempt of a run.</summary>
public sealed record Attempt
{
    /// <summary>Its id.</summary>
    public long Id { get; init; }

    /// <summary>1 for the first attempt.</summary>
    public int AttemptNumber { get; init; }

    /// <summary>Its state.</summary>
    public AttemptStatus Status { get; init; }

    /// <summary>Whether it was a manual retry.</summary>
    public bool Manual { get; init; }

    /// <summary>The worker that made it.</summary>
    public string? Worker { get; init; }

    /// <summary>When it started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>When it ended.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>The HTTP status answered.</summary>
    public int? StatusCode { get; init; }

    /// <summary>How long the call took, in milliseconds.</summary>
    public double? LatencyMs { get; init; }

    /// <summary>The size of the response body.</summary>
    public long? ResponseSizeBytes { get; init; }

    /// <summary>Why it failed.</summary>
    public ErrorType? ErrorType { get; init; }

    /// <summary>What went wrong, for people.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>The trace its span is in (its run's).</summary>
    public string? TraceId { get; init; }
}

/// <summary>One callback delivery of a run's outcome.</summary>
public sealed record CallbackDelivery
{
    /// <summary>Its id.</summary>
    public long Id { get; init; }

    /// <summary>Success or error callback.</summary>
    public DeliveryKind Kind { get; init; }

    /// <summary>Where it is sent.</summary>
    public string Url { get; init; } = "";

    /// <summary>Its state.</summary>
    public DeliveryStatus Status { get; init; }

    /// <summary>Attempts made so far.</summary>
    public int AttemptCount { get; init; }

    /// <summary>The status the receiver last answered.</summary>
    public int? StatusCode { get; init; }

    /// <summary>What went wrong, for people.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>How long the last attempt took, in milliseconds.</summary>
    public double? LatencyMs { get; init; }

    /// <summary>When the next attempt is due.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>When it was last attempted.</summary>
    public DateTimeOffset? LastAttemptAt { get; init; }

    /// <summary>When it was delivered.</summary>
    public DateTimeOffset? DeliveredAt { get; init; }

    /// <summary>The Hangfire job that delivers it.</summary>
    public string? HangfireJobId { get; init; }
}

/// <summary>The filters of <c>GET /runs</c>; null properties do not filter.</summary>
public sealed record RunFilter
{
    /// <summary>Runs of this schedule only.</summary>
    [Refit.AliasAs("schedule_id")]
    public long? ScheduleId { get; init; }

    /// <summary>Runs in this state only.</summary>
    [Refit.AliasAs("status_filter")]
    public RunStatus? Status { get; init; }

    /// <summary>Runs due at or after this time: ISO-8601, Unix seconds or relative (<c>-1h</c>).</summary>
    [Refit.AliasAs("start_time")]
    public string? StartTime { get; init; }

    /// <summary>Runs due at or before this time, in the same forms.</summary>
    [Refit.AliasAs("end_time")]
    public string? EndTime { get; init; }

    /// <summary>Rows per page (1 to the server's Limits:MaxPageSize; default 100).</summary>
    [Refit.AliasAs("limit")]
    public int? Limit { get; init; }
}

/// <summary>
/// The filters of <c>POST /runs/redrive</c>: <c>GET /runs</c>'s and the error type; null properties do not filter.
/// Only runs that ended unsuccessfully (FAILED, TIMEOUT, DNS_ERROR, CONNECTION_ERROR) and were not retried are taken.
/// </summary>
public sealed record RedriveFilter
{
    /// <summary>Runs of this schedule only.</summary>
    [Refit.AliasAs("schedule_id")]
    public long? ScheduleId { get; init; }

    /// <summary>Runs ended in this state only: FAILED, TIMEOUT, DNS_ERROR or CONNECTION_ERROR (others are a 400).</summary>
    [Refit.AliasAs("status_filter")]
    public RunStatus? Status { get; init; }

    /// <summary>Runs due at or after this time: ISO-8601 or Unix seconds.</summary>
    [Refit.AliasAs("start_time")]
    public string? StartTime { get; init; }

    /// <summary>Runs due at or before this time, in the same forms.</summary>
    [Refit.AliasAs("end_time")]
    public string? EndTime { get; init; }

    /// <summary>Runs whose last attempt failed so.</summary>
    [Refit.AliasAs("error_type")]
    public ErrorType? ErrorType { get; init; }
}

/// <summary>What <c>POST /runs/redrive</c> did.</summary>
public sealed record RedriveResult
{
    /// <summary>Runs queued for one manual attempt each.</summary>
    public int Queued { get; init; }

    /// <summary>It stopped at the server's Limits:MaxRedriveRuns: more runs may match; call again.</summary>
    public bool LimitReached { get; init; }
}

/// <summary>One page of a list; <see cref="NextCursor"/> is null on the last page.</summary>
/// <typeparam name="T">The item type.</typeparam>
public sealed record Page<T>
{
    /// <summary>The items of this page.</summary>
    public IReadOnlyList<T> Items { get; init; } = [];

    /// <summary>The cursor of the next page, or null on the last.</summary>
    public string? NextCursor { get; init; }
}
