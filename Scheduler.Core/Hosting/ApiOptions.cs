namespace Scheduler.Core.Hosting;

/// <summary>
/// How the API is reached from outside (section <c>Api</c>). Read by the worker too: it tells a
/// <c>"completion": "callback"</c> target where to complete its run (<c>X-Scheduler-Completion-Url</c>).
/// </summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>
    /// The API's absolute base URL as targets can reach it (behind a proxy, the public one). The default is
    /// <c>./run</c>'s API (port 8080), which sets it from <c>SCHEDULER_PORT</c>.
    /// </summary>
    public string PublicBaseUrl { get; set; } = "http://localhost:8080";

    /// <summary>The absolute URL of <c>POST /runs/{id}/complete</c> for a run.</summary>
    public Uri CompletionUrl(long runId) =>
        new($"{PublicBaseUrl.TrimEnd('/')}/runs/{runId.ToString(System.Globalization.CultureInfo.InvariantCulture)}/complete");
}

internal sealed class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiOptions options) =>
        Uri.TryCreate(options.PublicBaseUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && string.IsNullOrEmpty(uri.Query)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Api:PublicBaseUrl must be an absolute http(s) URL without a query (got '{options.PublicBaseUrl}').");
}
