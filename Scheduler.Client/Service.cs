using System.Text.Json;

namespace Scheduler.Client;

/// <summary>A named job a schedule's <c>job_name</c> may use (<c>GET /jobs</c>).</summary>
public sealed record Job
{
    /// <summary>Its name.</summary>
    public string Name { get; init; } = "";

    /// <summary>What it does.</summary>
    public string? Description { get; init; }

    /// <summary>An example of its args.</summary>
    public JsonElement? ArgsExample { get; init; }

    /// <summary>The arguments it takes with their bounds (null: any JSON).</summary>
    public IReadOnlyList<JobArgument>? Args { get; init; }

    /// <summary>When a worker last registered it.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>One argument of a named job.</summary>
public sealed record JobArgument
{
    /// <summary>Its name.</summary>
    public string Name { get; init; } = "";

    /// <summary><c>integer</c>, <c>number</c>, <c>string</c> or <c>boolean</c>.</summary>
    public string Type { get; init; } = "";

    /// <summary>The smallest value allowed.</summary>
    public double? Min { get; init; }

    /// <summary>The largest value allowed.</summary>
    public double? Max { get; init; }

    /// <summary>The longest string allowed.</summary>
    public int? MaxLength { get; init; }

    /// <summary>Whether it must be given.</summary>
    public bool Required { get; init; }
}

/// <summary>System metrics (<c>GET /metrics</c>).</summary>
public sealed record SystemMetrics
{
    /// <summary>Stored targets.</summary>
    public int TotalTargets { get; init; }

    /// <summary>Live schedules.</summary>
    public int TotalSchedules { get; init; }

    /// <summary>ACTIVE schedules.</summary>
    public int ActiveSchedules { get; init; }

    /// <summary>PAUSED schedules.</summary>
    public int PausedSchedules { get; init; }

    /// <summary>STOPPED schedules.</summary>
    public int StoppedSchedules { get; init; }

    /// <summary>COMPLETED schedules.</summary>
    public int CompletedSchedules { get; init; }

    /// <summary>All runs.</summary>
    public long TotalRuns { get; init; }

    /// <summary>Runs due in the last hour.</summary>
    public long RunsLastHour { get; init; }

    /// <summary>Percentage of finished runs that succeeded.</summary>
    public double SuccessRate { get; init; }

    /// <summary>Average call latency.</summary>
    public double? AvgLatencyMs { get; init; }

    /// <summary>Median lateness of runs started in the last hour.</summary>
    public double? LatenessP50MsLastHour { get; init; }

    /// <summary>99th percentile lateness in the last hour.</summary>
    public double? LatenessP99MsLastHour { get; init; }

    /// <summary>Largest lateness in the last hour.</summary>
    public double? LatenessMaxMsLastHour { get; init; }

    /// <summary>Runs waiting.</summary>
    public long PendingRuns { get; init; }

    /// <summary>Runs under way.</summary>
    public long RunningRuns { get; init; }

    /// <summary>When reconciliation last ran.</summary>
    public DateTimeOffset? LastReconciliationAt { get; init; }

    /// <summary>What it repaired then.</summary>
    public int? LastReconciliationRepaired { get; init; }

    /// <summary>Repairs in the last 24 hours.</summary>
    public long ReconciliationRepairsLast24h { get; init; }
}

/// <summary>Metrics of one schedule (<c>GET /metrics/schedules</c>).</summary>
public sealed record ScheduleMetrics
{
    /// <summary>The schedule.</summary>
    public long ScheduleId { get; init; }

    /// <summary>Its name.</summary>
    public string? ScheduleName { get; init; }

    /// <summary>All its runs.</summary>
    public long TotalRuns { get; init; }

    /// <summary>Runs that succeeded.</summary>
    public long SuccessfulRuns { get; init; }

    /// <summary>Runs that failed.</summary>
    public long FailedRuns { get; init; }

    /// <summary>Runs skipped.</summary>
    public long SkippedRuns { get; init; }

    /// <summary>Average call latency.</summary>
    public double? AvgLatencyMs { get; init; }

    /// <summary>When it last ran.</summary>
    public DateTimeOffset? LastRunAt { get; init; }

    /// <summary>Median lateness.</summary>
    public double? LatenessP50Ms { get; init; }

    /// <summary>99th percentile lateness.</summary>
    public double? LatenessP99Ms { get; init; }
}

/// <summary>Health (<c>GET /health</c>).</summary>
public sealed record Health
{
    /// <summary><c>healthy</c> or <c>unhealthy</c>.</summary>
    public string Status { get; init; } = "";

    /// <summary>Whether at least one worker is running.</summary>
    public bool SchedulerRunning { get; init; }
}

/// <summary>What a reconciliation pass did (<c>POST /reconcile</c>).</summary>
public sealed record ReconcileReport
{
    /// <summary>Its record's id (null when skipped).</summary>
    public long? Id { get; init; }

    /// <summary>What started it.</summary>
    public string Trigger { get; init; } = "";

    /// <summary>When it started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>When it finished.</summary>
    public DateTimeOffset FinishedAt { get; init; }

    /// <summary>Whether another pass was already running.</summary>
    public bool Skipped { get; init; }

    /// <summary>How many things it repaired.</summary>
    public int Repaired { get; init; }

    /// <summary>What it repaired.</summary>
    public IReadOnlyList<Repair> Repairs { get; init; } = [];
}

/// <summary>One repair of a reconciliation pass.</summary>
public sealed record Repair
{
    /// <summary>What kind of repair.</summary>
    public string Kind { get; init; } = "";

    /// <summary>The run repaired.</summary>
    public long? RunId { get; init; }

    /// <summary>The schedule repaired.</summary>
    public long? ScheduleId { get; init; }

    /// <summary>The callback delivery repaired.</summary>
    public long? DeliveryId { get; init; }

    /// <summary>The remark written.</summary>
    public string Remark { get; init; } = "";
}
