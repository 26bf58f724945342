using System.Net;
using System.Text.Json;

namespace Scheduler.Client;

/// <summary>
/// The API answered with an error: its problem details (RFC 7807), with the field errors of a 400
/// (<see cref="Errors"/>, keyed by the wire name of the field, such as <c>interval_seconds</c> or
/// <c>schedules[2].target.url</c>).
/// </summary>
public sealed class SchedulerApiException : Exception
{
    /// <summary>Creates the exception for an error answer.</summary>
    /// <param name="statusCode">The HTTP status.</param>
    /// <param name="title">The problem's title.</param>
    /// <param name="detail">The problem's detail.</param>
    /// <param name="errors">The field errors.</param>
    /// <param name="body">The raw body of the answer.</param>
    public SchedulerApiException(HttpStatusCode statusCode, string? title, string? detail, IReadOnlyDictionary<string, string[]>? errors, string? body)
        : base(MessageOf(statusCode, title, detail, errors))
    {
        StatusCode = statusCode;
        Title = title;
        Detail = detail;
        Errors = errors ?? new Dictionary<string, string[]>();
        Body = body;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public SchedulerApiException() : this(0, null, null, null, null)
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    /// <param name="message">What went wrong.</param>
    public SchedulerApiException(string message) : base(message) => Errors = new Dictionary<string, string[]>();

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public SchedulerApiException(string message, Exception innerException) : base(message, innerException) =>
        Errors = new Dictionary<string, string[]>();

    /// <summary>The HTTP status of the answer.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The problem's <c>title</c>.</summary>
    public string? Title { get; }

    /// <summary>The problem's <c>detail</c> (such as <c>Run 5 not found</c>).</summary>
    public string? Detail { get; }

    /// <summary>The field errors of a validation problem: field name to messages. Empty otherwise.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; }

    /// <summary>The raw body of the answer (the problem's JSON).</summary>
    public string? Body { get; }

    /// <summary>Reads an error answer into an exception.</summary>
    /// <param name="response">A response whose status is not 2xx.</param>
    /// <returns>The exception to throw.</returns>
    public static async Task<SchedulerApiException> FromResponseAsync(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var body = response.Content is null ? null : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        string? title = response.ReasonPhrase, detail = null;
        Dictionary<string, string[]>? errors = null;
        try
        {
            if (!string.IsNullOrWhiteSpace(body))
            {
                using var document = JsonDocument.Parse(body);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object)
                {
                    title = StringOf(root, "title") ?? title;
                    detail = StringOf(root, "detail");
                    if (root.TryGetProperty("errors", out var fields) && fields.ValueKind == JsonValueKind.Object)
                    {
                        errors = fields.EnumerateObject().ToDictionary(
                            f => f.Name,
                            f => f.Value.ValueKind == JsonValueKind.Array
                                ? f.Value.EnumerateArray().Select(m => m.ToString()).ToArray()
                                : [f.Value.ToString()]);
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not a problem document (a proxy's HTML page, say): the raw body stays in Body.
            detail = body;
        }
        return new SchedulerApiException(response.StatusCode, title, detail, errors, body);
    }

    private static string? StringOf(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string MessageOf(HttpStatusCode status, string? title, string? detail, IReadOnlyDictionary<string, string[]>? errors)
    {
        var message = $"{(int)status} {title}".TrimEnd();
        if (!string.IsNullOrEmpty(detail))
        {
            message += $": {detail}";
        }
        if (errors is { Count: > 0 })
        {
            message += " " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));
        }
        return message;
    }
}
