using Scheduler.Core.Security;

namespace Scheduler.Api.Contracts;

/// <summary>A target to create (<c>POST /targets</c>) or given inline in a schedule.</summary>
/// <param name="Name">Unique name (required for <c>POST /targets</c>).</param>
/// <param name="Url">Absolute http or https URL.</param>
/// <param name="Method">GET (default), POST, PUT, PATCH, DELETE, HEAD or OPTIONS.</param>
/// <param name="Headers">Request headers sent with every call.</param>
/// <param name="BodyTemplate">Request body (seed 001's name).</param>
/// <param name="Body">Request body; the same as <paramref name="BodyTemplate"/>, for inline targets.</param>
/// <param name="TimeoutSeconds">Seconds before a call is abandoned as TIMEOUT (default 30).</param>
/// <param name="SigningSecret">Signs calls to this target (Scheduler-Signature, HMAC-SHA256); never shown again.</param>
/// <param name="RateLimitPerSecond">At most this many calls a second to the target, across all workers (0.001 to 10,000; fractions allowed, e.g. 0.5).</param>
/// <param name="MaxConcurrency">At most this many calls to the target in flight at once, across all workers (1 to 10,000).</param>
/// <param name="Completion"><c>response</c> (default): the response ends the call; <c>callback</c>: a 2xx only accepts it (the run is WAITING) and the target completes the run later at POST /runs/{id}/complete.</param>
/// <param name="CompletionTimeoutSeconds">With <c>callback</c>: seconds an accepted call may wait for its completion or next heartbeat (default 3600, at most 604800).</param>
public sealed record TargetRequest(
    string? Name,
    string? Url,
    string? Method,
    Dictionary<string, string>? Headers,
    string? BodyTemplate,
    string? Body,
    int? TimeoutSeconds,
    string? SigningSecret = null,
    double? RateLimitPerSecond = null,
    int? MaxConcurrency = null,
    string? Completion = null,
    int? CompletionTimeoutSeconds = null);

public sealed record TargetResponse(
    long Id,
    string? Name,
    string Url,
    string Method,
    IReadOnlyDictionary<string, string> Headers,
    string? BodyTemplate,
    int TimeoutSeconds,
    string? SigningSecret,
    double? RateLimitPerSecond,
    int? MaxConcurrency,
    bool Inline,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary><c>response</c> or <c>callback</c> (long-running endpoints: docs/api.md).</summary>
    public CompletionMode Completion { get; init; }

    public int CompletionTimeoutSeconds { get; init; }

    public static TargetResponse From(Target target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return new(target.Id, target.Name, target.Url, target.Method, SecretProtector.MaskHeaders(target.Headers), target.BodyTemplate,
            target.TimeoutSeconds, target.SigningSecret is null ? null : SecretProtector.Masked,
            target.RateLimitPerSecond, target.MaxConcurrency, target.Inline, target.CreatedAt, target.UpdatedAt)
        {
            Completion = target.Completion,
            CompletionTimeoutSeconds = target.CompletionTimeoutSeconds,
        };
    }
}
