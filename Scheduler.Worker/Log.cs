namespace Scheduler.Worker;

/// <summary>Log messages of Scheduler.Worker (event ids 3000-3999).</summary>
internal static partial class Log
{
    [LoggerMessage(3001, LogLevel.Information,
        "Run {RunId} attempt {Attempt}: {Method} {Url} → {Status} {StatusCode} in {LatencyMs:0.0} ms, {LatenessMs:0.0} ms after due")]
    public static partial void RunFinished(ILogger logger, long runId, int attempt, string method, string url, string status,
        int? statusCode, double latencyMs, double latenessMs);

    [LoggerMessage(3002, LogLevel.Warning, "Run {RunId} no longer exists; its job does nothing")]
    public static partial void RunMissing(ILogger logger, long runId);

    [LoggerMessage(3003, LogLevel.Information, "Run {RunId} is already {Status}; its job does nothing")]
    public static partial void RunAlreadyFinished(ILogger logger, long runId, string status);

    [LoggerMessage(3004, LogLevel.Information, "Run {RunId} came early; rescheduled for {DueAt:O} as job {JobId}")]
    public static partial void RunRescheduled(ILogger logger, long runId, DateTimeOffset dueAt, string jobId);

    [LoggerMessage(3005, LogLevel.Information, "Run {RunId} is held by live worker {Owner}; leaving it to that worker")]
    public static partial void RunHeldElsewhere(ILogger logger, long runId, string owner);

    [LoggerMessage(3006, LogLevel.Warning, "Run {RunId} recovered: {LostAttempts} was lost; executing attempt {Attempt}")]
    public static partial void RunRecovered(ILogger logger, long runId, string lostAttempts, int attempt);

    [LoggerMessage(3007, LogLevel.Warning, "Run {RunId} attempt {Attempt}: lease lost to another worker; this result is not recorded on the run")]
    public static partial void LeaseLost(ILogger logger, long runId, int attempt);

    [LoggerMessage(3008, LogLevel.Information, "Run {RunId} attempt {Attempt} interrupted by shutdown; run handed back")]
    public static partial void RunHandedBack(ILogger logger, long runId, int attempt);

    [LoggerMessage(3009, LogLevel.Warning, "Run {RunId}: lease renewal failed ({Message})")]
    public static partial void LeaseRenewalFailed(ILogger logger, long runId, string message);

    [LoggerMessage(3010, LogLevel.Debug, "Dispatched {Claimed} schedule(s): {Queued} run(s) queued, {Skipped} skipped")]
    public static partial void Dispatched(ILogger logger, int claimed, int queued, int skipped);

    [LoggerMessage(3011, LogLevel.Warning, "Dispatcher: {Message}; retrying")]
    public static partial void DispatchFailed(ILogger logger, string message);

    [LoggerMessage(3012, LogLevel.Information, "Run {RunId} waits for run {PreviousRunId} of its schedule (overlap BUFFER_ONE)")]
    public static partial void RunBuffered(ILogger logger, long runId, long previousRunId);

    [LoggerMessage(3013, LogLevel.Information, "Run {RunId}: {Remark}")]
    public static partial void RunSkipped(ILogger logger, long runId, string remark);

    [LoggerMessage(3014, LogLevel.Debug, "Dispatcher woken: a schedule is due at {DueAt:O}")]
    public static partial void DispatcherWoken(ILogger logger, DateTimeOffset? dueAt);

    [LoggerMessage(3015, LogLevel.Information, "Warmed up the run path in {ElapsedMs:0} ms")]
    public static partial void WarmedUp(ILogger logger, double elapsedMs);

    [LoggerMessage(3016, LogLevel.Information, "Run {RunId}: attempt {NextAttempt} of {MaxAttempts} scheduled for {At:O}")]
    public static partial void RetryScheduled(ILogger logger, long runId, int nextAttempt, int maxAttempts, DateTimeOffset at);

    [LoggerMessage(3017, LogLevel.Information, "Callback {DeliveryId} of run {RunId}, attempt {Attempt}: POST {Url} → {Status} {StatusCode} {Error}")]
    public static partial void CallbackAttempted(ILogger logger, long deliveryId, long runId, int attempt, string url, string status, int? statusCode, string? error);

    [LoggerMessage(3018, LogLevel.Information, "Named jobs available here: {Count} ({Names})")]
    public static partial void NamedJobsRegistered(ILogger logger, int count, string names);

    [LoggerMessage(3019, LogLevel.Information, "Retention: {Message}")]
    public static partial void RetentionRan(ILogger logger, string message);

    [LoggerMessage(3020, LogLevel.Warning, "Run {RunId} attempt {Attempt}: job {JobName} threw")]
    public static partial void NamedJobFailed(ILogger logger, Exception exception, long runId, int attempt, string jobName);

    [LoggerMessage(3021, LogLevel.Information, "Analyzed {Tables}: each had doubled in size since PostgreSQL's statistics last counted it")]
    public static partial void TablesAnalyzed(ILogger logger, string tables);

    [LoggerMessage(3022, LogLevel.Warning, "Could not look for tables to analyze ({Message}); trying again every {Interval}")]
    public static partial void TablesNotAnalyzed(ILogger logger, string message, TimeSpan interval);

    [LoggerMessage(3023, LogLevel.Information,
        "Warmed up by rehearsal: {Runs} runs of its own ({Outcome}; {Calls} calls answered) through a second Hangfire server on its own database {Name}, {Dropped}, in {ElapsedMs:0} ms, {Methods} methods compiled meanwhile; ready")]
    public static partial void WarmedUpByRehearsal(ILogger logger, long runs, string outcome, long calls, string name, string dropped, double elapsedMs, long methods);

    [LoggerMessage(3024, LogLevel.Information, "The warm-up has no database of its own ({Message}): ready without it, the first runs compile their path")]
    public static partial void RehearsalDatabaseUnavailable(ILogger logger, string message);

    [LoggerMessage(3025, LogLevel.Warning, "The warm-up stopped ({Message}); ready without it, the first runs compile what it did not")]
    public static partial void RehearsalFailed(ILogger logger, string message);

    [LoggerMessage(3026, LogLevel.Warning, "The warm-up's database {Name} was not dropped ({Message}); the next start of a process drops it")]
    public static partial void RehearsalDatabaseNotDropped(ILogger logger, string name, string message);

    [LoggerMessage(3060, LogLevel.Information, "Run {RunId}: {Remark}")]
    public static partial void LimitWaited(ILogger logger, long runId, string remark);

    [LoggerMessage(3061, LogLevel.Information, "Run {RunId} waits for {Reason} in the scheduled set until {At:O}")]
    public static partial void LimitPostponed(ILogger logger, long runId, string reason, DateTimeOffset at);

    [LoggerMessage(3062, LogLevel.Warning, "Run {RunId}: the remark on its wait for its target's limits was not written ({Message})")]
    public static partial void LimitRemarkFailed(ILogger logger, long runId, string message);

    [LoggerMessage(3100, LogLevel.Information, "Run {RunId} attempt {Attempt}: accepted ({StatusCode}), WAITING for the target's completion until {Deadline:O}")]
    public static partial void RunWaiting(ILogger logger, long runId, int attempt, int? statusCode, DateTimeOffset deadline);

    [LoggerMessage(3041, LogLevel.Information, "Run {ParentRunId} started continuation run {RunId} of schedule {ScheduleId} ({Status})")]
    public static partial void ContinuationCreated(ILogger logger, long parentRunId, long runId, long scheduleId, string status);
}
