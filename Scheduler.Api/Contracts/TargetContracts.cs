using Scheduler.Core.Model;

namespace Scheduler.Api.Contracts;

/// <summary>A target to create (<c>POST /targets</c>) or given inline in a schedule.</summary>
/// <param name="Name">Unique name (required for <c>POST /targets</c>).</param>
/// <param name="Url">Absolute http or https URL.</param>
/// <param name="Method">GET (default), POST, PUT, PATCH, DELETE, HEAD or OPTIONS.</param>
/// <param name="Headers">Request headers sent with every call.</param>
/// <param name="BodyTemplate">Request body (seed 001's name).</param>
/// <param name="Body">Request body; the same as <paramref name="BodyTemplate"/>, for inline targets.</param>
/// <param name="TimeoutSeconds">Seconds before a call is abandoned as TIMEOUT (default 30).</param>
public sealed record TargetRequest(
    string? Name,
    string? Url,
    string? Method,
    Dictionary<string, string>? Headers,
    string? BodyTemplate,
    string? Body,
    int? TimeoutSeconds);

public sealed record TargetResponse(
    long Id,
    string? Name,
    string Url,
    string Method,
    IReadOnlyDictionary<string, string> Headers,
    string? BodyTemplate,
    int TimeoutSeconds,
    bool Inline,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static TargetResponse From(Target target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return new(target.Id, target.Name, target.Url, target.Method, target.Headers, target.BodyTemplate,
            target.TimeoutSeconds, target.Inline, target.CreatedAt, target.UpdatedAt);
    }
}
