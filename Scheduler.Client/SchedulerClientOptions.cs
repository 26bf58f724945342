using Microsoft.Extensions.Options;

namespace Scheduler.Client;

/// <summary>Where the API is and how to authenticate.</summary>
public sealed class SchedulerClientOptions
{
    /// <summary>The API's address, such as <c>http://127.0.0.1:8080</c>.</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>The API key, sent as <c>X-Api-Key</c>; null sends none (only <c>/health</c> answers then).</summary>
    public string? ApiKey { get; set; }
}

/// <summary>Checks <see cref="SchedulerClientOptions"/> when the client is first created.</summary>
public sealed class SchedulerClientOptionsValidator : IValidateOptions<SchedulerClientOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, SchedulerClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.BaseAddress is not { IsAbsoluteUri: true } address || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            return ValidateOptionsResult.Fail("SchedulerClientOptions.BaseAddress must be an absolute http or https URL.");
        }
        return ValidateOptionsResult.Success;
    }
}
