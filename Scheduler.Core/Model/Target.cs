namespace Scheduler.Core.Model;

/// <summary>A reusable HTTP endpoint (seed 001's Target).</summary>
public sealed class Target
{
    public long Id { get; set; }

    /// <summary>Unique among named targets; null for a target given inline in a schedule.</summary>
    public string? Name { get; set; }

    /// <summary>True when the target was given inline in a schedule rather than created on its own.</summary>
    public bool Inline { get; set; }

    public required string Url { get; set; }

    public string Method { get; set; } = "GET";

    public Dictionary<string, string> Headers { get; set; } = [];

    /// <summary>Request body; later issues expand <c>{{run_id}}</c>-style placeholders in it.</summary>
    public string? BodyTemplate { get; set; }

    public int TimeoutSeconds { get; set; }

    /// <summary>Signs calls to this target (<c>Scheduler-Signature</c>); overrides the global secret. Never shown.</summary>
    public string? SigningSecret { get; set; }

    /// <summary>At most this many calls a second to this target, across all workers (fractions allowed); null: the host's default, or none.</summary>
    public double? RateLimitPerSecond { get; set; }

    /// <summary>At most this many calls to this target in flight at once, across all workers; null: the host's default, or none.</summary>
    public int? MaxConcurrency { get; set; }

    /// <summary>Whether the response ends the call, or a 2xx only accepts it and the target completes the run later.</summary>
    public CompletionMode Completion { get; set; } = CompletionMode.Response;

    /// <summary>How long an accepted call may wait for its completion (or the next heartbeat) before it times out.</summary>
    public int CompletionTimeoutSeconds { get; set; } = CompletionLimits.DefaultTimeoutSeconds;

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Set by DELETE: the target is gone from the API; schedules that used it keep their history.</summary>
    public DateTimeOffset? DeletedAt { get; set; }
}
