namespace Scheduler.Core.Model;

/// <summary>One HTTP try inside a run.</summary>
public sealed class Attempt
{
    public long Id { get; set; }

    public long RunId { get; set; }

    /// <summary>Denormalised so attempts live with their schedule when the tables are distributed.</summary>
    public long ScheduleId { get; set; }

    public int AttemptNumber { get; set; }

    public AttemptStatus Status { get; set; } = AttemptStatus.Running;

    /// <summary>True when a person asked for this attempt (a manual retry).</summary>
    public bool Manual { get; set; }

    /// <summary>The worker that made the attempt.</summary>
    public string? Worker { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    public int? StatusCode { get; set; }

    public double? LatencyMs { get; set; }

    public long? ResponseSizeBytes { get; set; }

    public ErrorType? ErrorType { get; set; }

    public string? ErrorMessage { get; set; }

    /// <summary>SHA-256 of the completion token sent with an attempt to a <c>"completion": "callback"</c> target (the token itself is never stored).</summary>
    public byte[]? CompletionTokenHash { get; set; }
}
