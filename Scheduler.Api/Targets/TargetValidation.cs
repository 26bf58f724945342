using Scheduler.Api.Security;
using Scheduler.Api.Validation;
using Scheduler.Core.Hosting;
using Scheduler.Core.Security;

namespace Scheduler.Api.Targets;

/// <summary>
/// The rules for a target, whether created on its own or inline in a schedule, and for a schedule's callback
/// URLs and headers. Here is the API's SSRF check: a URL whose host is a literal address or <c>localhost</c>
/// that <see cref="OutboundAddressPolicy"/> refuses is refused at submission, for fast feedback (names are not
/// resolved here; the worker checks every address it connects to). The limits are <c>Limits:*</c>.
/// </summary>
internal sealed class TargetValidation(IOptions<LimitsOptions> limits, OutboundAddressPolicy addresses, IOptions<ExecutionOptions> execution)
{
    public static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    public const int MaxNameLength = 200;

    private int MaxUrlLength => limits.Value.MaxUrlLength;
    private int MaxHeaders => limits.Value.MaxHeaders;
    private int MaxHeaderValueLength => limits.Value.MaxHeaderValueLength;
    private int MaxBodyLength => limits.Value.MaxBodyTemplateLength;

    /// <summary>Checks <paramref name="request"/> and, when valid, returns the target it describes.</summary>
    /// <param name="request">The target as sent.</param>
    /// <param name="prefix">Field prefix for error names (<c>""</c> or <c>"target."</c>).</param>
    /// <param name="inline">True for a target given inline in a schedule (it has no name).</param>
    /// <param name="errors">Where problems are written.</param>
    /// <param name="sent">
    /// When <paramref name="request"/> merges stored values (an update), what the caller sent: only that is
    /// checked for the at-rest prefix, which stored secrets carry.
    /// </param>
    public Target? Validate(TargetRequest request, string prefix, bool inline, ValidationErrors errors, TargetRequest? sent = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(errors);
        var before = errors.Count;
        var name = request.Name?.Trim();
        if (inline && name is not null)
        {
            errors.Add(prefix + "name", "inline targets have no name; create a named target with POST /targets and use target_id.");
        }
        else if (!inline && string.IsNullOrEmpty(name))
        {
            errors.Add(prefix + "name", "is required.");
        }
        else if (name is { Length: > MaxNameLength })
        {
            errors.Add(prefix + "name", $"must be at most {MaxNameLength} characters.");
        }
        else if (name is not null && FreeText.HasControlCharacters(name))
        {
            errors.Add(prefix + "name", FreeText.Rule);
        }

        if (string.IsNullOrWhiteSpace(request.Url))
        {
            errors.Add(prefix + "url", "is required: an absolute http or https URL.");
        }
        else if (request.Url.Length > MaxUrlLength)
        {
            errors.Add(prefix + "url", $"must be at most {MaxUrlLength} characters.");
        }
        else if (FreeText.HasControlCharacters(request.Url))
        {
            errors.Add(prefix + "url", FreeText.Rule);
        }
        else if (!Uri.TryCreate(request.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
        {
            errors.Add(prefix + "url", $"'{request.Url}' is not an absolute http or https URL.");
        }
        else if (addresses.Refusal(uri.Host) is { } refusal)
        {
            errors.Add(prefix + "url", refusal);
        }

        var method = (request.Method ?? "GET").Trim().ToUpperInvariant();
        if (!Methods.Contains(method))
        {
            errors.Add(prefix + "method", $"must be one of {string.Join(", ", Methods)}.");
        }

        var headers = request.Headers ?? [];
        ValidateHeaders(headers, prefix + "headers", errors);

        // "***" is the masked answer sent back in an update: the stored secret stays.
        if (request.SigningSecret is { } secret && secret != SecretProtector.Masked && (secret.Length is < 16 or > 1024))
        {
            errors.Add(prefix + "signing_secret", "must be 16 to 1024 characters.");
        }
        sent ??= request;
        if (SecretProtector.IsProtected(sent.SigningSecret))
        {
            errors.Add(prefix + "signing_secret", LooksEncrypted);
        }
        RefuseLookingEncrypted(sent.Headers, prefix + "headers", errors);

        if (request.Body is not null && request.BodyTemplate is not null)
        {
            errors.Add(prefix + "body", "give body or body_template, not both.");
        }
        var body = request.BodyTemplate ?? request.Body;
        if (body is not null && body.Length > MaxBodyLength)
        {
            errors.Add(prefix + (request.BodyTemplate is null ? "body" : "body_template"), $"must be at most {MaxBodyLength} characters.");
        }

        var timeout = request.TimeoutSeconds ?? execution.Value.DefaultTimeoutSeconds;
        if (timeout < 1 || timeout > execution.Value.MaxTimeoutSeconds)
        {
            errors.Add(prefix + "timeout_seconds", $"must be between 1 and {execution.Value.MaxTimeoutSeconds}.");
        }

        if (request.RateLimitPerSecond is { } rate && TargetLimitBounds.CheckRate(rate) is { } rateError)
        {
            errors.Add(prefix + "rate_limit_per_second", rateError);
        }
        if (request.MaxConcurrency is { } concurrency && TargetLimitBounds.CheckConcurrency(concurrency) is { } concurrencyError)
        {
            errors.Add(prefix + "max_concurrency", concurrencyError);
        }
        var completion = CompletionMode.Response;
        if (request.Completion is not null && !WireName.TryParse(request.Completion, out completion))
        {
            errors.Add(prefix + "completion", "must be response or callback.");
        }
        var completionTimeout = request.CompletionTimeoutSeconds ?? CompletionLimits.DefaultTimeoutSeconds;
        if (completionTimeout is < 1 or > CompletionLimits.MaxTimeoutSeconds)
        {
            errors.Add(prefix + "completion_timeout_seconds", $"must be between 1 and {CompletionLimits.MaxTimeoutSeconds}.");
        }

        if (errors.Count != before)
        {
            return null;
        }
        return new Target
        {
            Completion = completion,
            CompletionTimeoutSeconds = completionTimeout,
            Name = inline ? null : name,
            Inline = inline,
            Url = request.Url!,
            Method = method,
            Headers = new Dictionary<string, string>(headers),
            BodyTemplate = body,
            TimeoutSeconds = timeout,
            SigningSecret = request.SigningSecret,
            RateLimitPerSecond = request.RateLimitPerSecond,
            MaxConcurrency = request.MaxConcurrency,
        };
    }

    /// <summary>Header rules, shared by targets and callbacks: valid names, each once, string values without line breaks.</summary>
    public void ValidateHeaders(Dictionary<string, string> headers, string field, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(errors);
        if (headers.Count > MaxHeaders)
        {
            errors.Add(field, $"must have at most {MaxHeaders} entries.");
        }
        if (headers.Keys.GroupBy(h => h, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            errors.Add(field, $"'{duplicate.Key}' is given more than once (header names ignore case).");
        }
        foreach (var (header, value) in headers)
        {
            if (header.Length == 0 || !header.All(IsTokenChar))
            {
                errors.Add(field, $"'{header}' is not a valid header name.");
            }
            else if (value is null)
            {
                errors.Add($"{field}.{header}", "must be a string, not null.");
            }
            else if (value.Length > MaxHeaderValueLength || value.Any(c => c is '\r' or '\n' or '\0'))
            {
                errors.Add($"{field}.{header}", $"must be at most {MaxHeaderValueLength} characters without line breaks.");
            }

        }
    }

    /// <summary>Header values as sent by a caller: none may start with the at-rest prefix.</summary>
    public static void RefuseLookingEncrypted(IReadOnlyDictionary<string, string>? headers, string field, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        foreach (var (header, value) in headers ?? new Dictionary<string, string>())
        {
            if (SecretProtector.IsProtected(value))
            {
                errors.Add($"{field}.{header}", LooksEncrypted);
            }
        }
    }

    /// <summary>An absolute http or https URL, or an error naming the field.</summary>
    public bool IsHttpUrl(string? value, string field, ValidationErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (value is null || value.Length > MaxUrlLength || FreeText.HasControlCharacters(value) || !Uri.TryCreate(value, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
        {
            errors.Add(field, $"must be an absolute http or https URL of at most {MaxUrlLength} characters, without control characters.");
            return false;
        }
        if (addresses.Refusal(uri.Host) is { } refusal)
        {
            errors.Add(field, refusal);
            return false;
        }
        return true;
    }

    /// <summary>
    /// A value sent with the at-rest prefix would be stored as if Scheduler had encrypted it, and every run
    /// would then fail to decrypt it.
    /// </summary>
    public const string LooksEncrypted = $"must not start with '{SecretProtector.Prefix}': values starting so are taken as encrypted by Scheduler and could never be sent.";

    // RFC 9110 token characters.
    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);
}
