namespace Scheduler.Core.Model;

/// <summary>One pass of the reconciliation job: what it found and repaired (seed 004's monitor).</summary>
public sealed class ReconciliationRecord
{
    public long Id { get; set; }

    /// <summary><c>recurring</c> (the Hangfire job) or <c>api</c> (POST /reconcile).</summary>
    public required string Trigger { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset FinishedAt { get; set; }

    public int Repaired { get; set; }

    /// <summary>The repairs, as JSON: kind, subject, remark.</summary>
    public string Details { get; set; } = "[]";
}
