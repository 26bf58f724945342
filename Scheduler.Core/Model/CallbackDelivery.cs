namespace Scheduler.Core.Model;

/// <summary>The outcome of a run POSTed to its schedule's callback URL, with its own retries (seed 000).</summary>
public sealed class CallbackDelivery
{
    public long Id { get; set; }

    public long RunId { get; set; }

    public long ScheduleId { get; set; }

    public DeliveryKind Kind { get; set; }

    public required string Url { get; set; }

    public DeliveryStatus Status { get; set; } = DeliveryStatus.Pending;

    public int AttemptCount { get; set; }

    public int? StatusCode { get; set; }

    public string? ErrorMessage { get; set; }

    public DateTimeOffset? NextAttemptAt { get; set; }

    public DateTimeOffset? DeliveredAt { get; set; }

    /// <summary>When the last delivery attempt ended.</summary>
    public DateTimeOffset? LastAttemptAt { get; set; }

    public double? LatencyMs { get; set; }

    public string? HangfireJobId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
