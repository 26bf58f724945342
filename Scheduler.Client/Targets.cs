namespace Scheduler.Client;

/// <summary>
/// A target to create (<c>POST /targets</c>), to change (<c>PUT /targets/{id}</c>, where properties left
/// null keep their values) or given inline in a schedule.
/// </summary>
public sealed record TargetRequest
{
    /// <summary>Unique name (required for <c>POST /targets</c>).</summary>
    public string? Name { get; init; }

    /// <summary>Absolute http or https URL.</summary>
    public string? Url { get; init; }

    /// <summary>GET (default), POST, PUT, PATCH, DELETE, HEAD or OPTIONS.</summary>
    public string? Method { get; init; }

    /// <summary>Request headers sent with every call.</summary>
    public IDictionary<string, string>? Headers { get; init; }

    /// <summary>Request body; may use <c>{{run_id}}</c>, <c>{{schedule_id}}</c>, <c>{{due_at}}</c>, <c>{{attempt}}</c>, <c>{{idempotency_key}}</c>.</summary>
    public string? BodyTemplate { get; init; }

    /// <summary>Request body; the same as <see cref="BodyTemplate"/>, for inline targets.</summary>
    public string? Body { get; init; }

    /// <summary>Seconds before a call is abandoned as TIMEOUT (default 30).</summary>
    public int? TimeoutSeconds { get; init; }

    /// <summary>Signs calls to this target (<c>Scheduler-Signature</c>); never shown again.</summary>
    public string? SigningSecret { get; init; }

    /// <summary>At most this many calls a second to the target, across all workers (0.001 to 10,000; fractions allowed, e.g. 0.5).</summary>
    public double? RateLimitPerSecond { get; init; }

    /// <summary>At most this many calls to the target in flight at once, across all workers (1 to 10,000).</summary>
    public int? MaxConcurrency { get; init; }

    /// <summary><see cref="CompletionMode.Callback"/>: a 2xx only accepts the call and the target completes the run later (default <see cref="CompletionMode.Response"/>).</summary>
    public CompletionMode? Completion { get; init; }

    /// <summary>With <see cref="CompletionMode.Callback"/>: seconds an accepted call may wait for its completion or next heartbeat (default 3600).</summary>
    public int? CompletionTimeoutSeconds { get; init; }
}

/// <summary>A target as the API shows it (secret header values and the signing secret masked).</summary>
public sealed record Target
{
    /// <summary>Its id.</summary>
    public long Id { get; init; }

    /// <summary>Its unique name (null for an inline target).</summary>
    public string? Name { get; init; }

    /// <summary>The URL called.</summary>
    public string Url { get; init; } = "";

    /// <summary>The HTTP method.</summary>
    public string Method { get; init; } = "";

    /// <summary>Headers sent with every call; secret values masked.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>The request body template.</summary>
    public string? BodyTemplate { get; init; }

    /// <summary>Seconds before a call is abandoned.</summary>
    public int TimeoutSeconds { get; init; }

    /// <summary>Masked when a signing secret is set, otherwise null.</summary>
    public string? SigningSecret { get; init; }

    /// <summary>Its own rate limit (calls a second), or null (its host's default from the server's configuration, or none).</summary>
    public double? RateLimitPerSecond { get; init; }

    /// <summary>Its own concurrency limit, or null (its host's default from the server's configuration, or none).</summary>
    public int? MaxConcurrency { get; init; }

    /// <summary>Whether the target was given inline in a schedule.</summary>
    public bool Inline { get; init; }

    /// <summary>Whether the response ends the call, or a 2xx only accepts it.</summary>
    public CompletionMode Completion { get; init; }

    /// <summary>Seconds an accepted call may wait for its completion or next heartbeat.</summary>
    public int CompletionTimeoutSeconds { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}
