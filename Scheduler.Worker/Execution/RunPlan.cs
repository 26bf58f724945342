using Scheduler.Core.Model;

namespace Scheduler.Worker.Execution;

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
    /// <summary>Stable across every attempt of one run, distinct per occurrence: lets targets de-duplicate.</summary>
    public string IdempotencyKey => $"{ScheduleId}:{DueAt.UtcDateTime:yyyy-MM-ddTHH:mm:ss.ffffff}Z";
}

/// <summary>A run this worker now holds, and the attempt it is making.</summary>
internal sealed record RunClaim(long RunId, long AttemptId, int AttemptNumber, string? LostAttempts);

/// <summary>The lease on a run as the database sees it now.</summary>
internal sealed record LeaseState(RunStatus Status, string? Owner, DateTimeOffset? ExpiresAt, DateTimeOffset DatabaseNow);
