namespace Scheduler.Worker.Runs;

/// <summary>Everything a worker needs to execute one run, read in one query.</summary>
internal sealed record RunPlan(
    long RunId,
    long ScheduleId,
    DateTimeOffset DueAt,
    RunStatus Status,
    ScheduleType ScheduleType,
    OverlapPolicy OverlapPolicy,
    int[] ExpectedHttpStatus,
    bool NoResponse,
    string? JobName,
    string? Url,
    string Method,
    IReadOnlyDictionary<string, string> Headers,
    string? Body,
    int TimeoutSeconds,
    int EarlierRunsActive)
{
    /// <summary>Attempts made so far.</summary>
    public int AttemptCount { get; init; }

    /// <summary>When the next attempt may start, while a retry is scheduled.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    public int? MaxDelaySeconds { get; init; }

    public int? MaxAttempts { get; init; }

    public int? RetryInitialIntervalSeconds { get; init; }

    public int? RetryMaxIntervalSeconds { get; init; }

    /// <summary>The next attempt was asked for by hand.</summary>
    public bool RetryRequested { get; init; }

    public string? JobArgs { get; init; }

    public string? SigningSecret { get; init; }

    public string? CallbackUrl { get; init; }

    public string? ErrorCallbackUrl { get; init; }

    public long? TargetId { get; init; }

    /// <summary>The target's own rate limit (calls a second), if it sets one.</summary>
    public double? RateLimitPerSecond { get; init; }

    /// <summary>The target's own concurrency limit, if it sets one.</summary>
    public int? MaxConcurrency { get; init; }

    /// <summary>The rate limit's turn reserved for this run while it waited in Hangfire's scheduled set.</summary>
    public DateTimeOffset? LimitTurnAt { get; init; }

    /// <summary>Since when the run has been waiting for its target's limits, if it was put back to wait.</summary>
    public DateTimeOffset? LimitWaitSince { get; init; }

    /// <summary>The span the run's attempts continue (W3C traceparent); null for a run made before traces were kept.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The request that created the schedule: a run without its own trace context links to it.</summary>
    public string? ScheduleTraceParent { get; init; }

    /// <summary>The target's completion mode: with <see cref="CompletionMode.Callback"/> a 2xx only accepts the call (WAITING).</summary>
    public CompletionMode Completion { get; init; }

    public int CompletionTimeoutSeconds { get; init; } = CompletionLimits.DefaultTimeoutSeconds;

    /// <summary>The call does not start before this: the due time, or the scheduled retry's time.</summary>
    public DateTimeOffset NotBefore => NextAttemptAt is { } next && next > DueAt ? next : DueAt;

    /// <summary>Stable across every attempt of one run, distinct per occurrence: lets targets de-duplicate.</summary>
    public string IdempotencyKey => $"{ScheduleId}:{DueAt.UtcDateTime:yyyy-MM-ddTHH:mm:ss.ffffff}Z";
}

/// <summary>A run this worker now holds, and the attempt it is making.</summary>
internal sealed record RunClaim(long RunId, long AttemptId, int AttemptNumber, string? LostAttempts, bool Manual = false);

/// <summary>The lease on a run as the database sees it now.</summary>
internal sealed record LeaseState(RunStatus Status, string? Owner, DateTimeOffset? ExpiresAt, DateTimeOffset DatabaseNow);
