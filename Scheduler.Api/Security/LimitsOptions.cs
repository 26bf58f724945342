using Microsoft.Extensions.Options;

namespace Scheduler.Api.Security;

/// <summary>Request limits and rate limiting (section <c>Limits</c>).</summary>
public sealed class LimitsOptions
{
    public const string Section = "Limits";

    /// <summary>The largest request body accepted (Kestrel answers 413 above it).</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Requests per second each API key may make (a token bucket; 0 turns rate limiting off).</summary>
    public int RequestsPerSecond { get; set; } = 500;

    /// <summary>How many requests a key may make at once above its rate.</summary>
    public int Burst { get; set; } = 1000;
}

internal sealed class LimitsOptionsValidator : IValidateOptions<LimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, LimitsOptions options)
    {
        var errors = new List<string>();
        if (options.MaxRequestBodyBytes is < 1024 or > 100 * 1024 * 1024)
        {
            errors.Add($"Limits:MaxRequestBodyBytes must be between 1024 and 104857600 (got {options.MaxRequestBodyBytes}).");
        }
        if (options.RequestsPerSecond is < 0 or > 1_000_000)
        {
            errors.Add($"Limits:RequestsPerSecond must be between 0 (off) and 1000000 (got {options.RequestsPerSecond}).");
        }
        if (options.Burst < 1 || options.Burst > 10_000_000)
        {
            errors.Add($"Limits:Burst must be between 1 and 10000000 (got {options.Burst}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
