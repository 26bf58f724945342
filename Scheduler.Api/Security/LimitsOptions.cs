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

    /// <summary>The longest target or callback URL.</summary>
    public int MaxUrlLength { get; set; } = 2048;

    /// <summary>Headers per target or callback.</summary>
    public int MaxHeaders { get; set; } = 50;

    /// <summary>The longest header value.</summary>
    public int MaxHeaderValueLength { get; set; } = 8192;

    /// <summary>The longest request body a target sends (body_template), in characters.</summary>
    public int MaxBodyTemplateLength { get; set; } = 256 * 1024;

    /// <summary>The most items one page of a list returns (<c>limit</c>).</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>The most schedules one <c>POST /schedules/bulk</c> creates.</summary>
    public int MaxBulkSchedules { get; set; } = 1000;

    /// <summary>
    /// The most schedules one API key may have that can still run (ACTIVE or PAUSED, not deleted), counting
    /// those its requests created through the API and the seeds' adapters. A create above it is a 409.
    /// </summary>
    public int MaxActiveSchedulesPerKey { get; set; } = 100_000;

    /// <summary>The most runs one <c>POST /runs/redrive</c> reopens (the oldest due first); call again for more.</summary>
    public int MaxRedriveRuns { get; set; } = 10_000;
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
        Positive(errors, "Limits:MaxUrlLength", options.MaxUrlLength, 64, 65_536);
        Positive(errors, "Limits:MaxHeaders", options.MaxHeaders, 1, 1000);
        Positive(errors, "Limits:MaxHeaderValueLength", options.MaxHeaderValueLength, 64, 1024 * 1024);
        Positive(errors, "Limits:MaxBodyTemplateLength", options.MaxBodyTemplateLength, 0, 50 * 1024 * 1024);
        Positive(errors, "Limits:MaxPageSize", options.MaxPageSize, 1, 100_000);
        Positive(errors, "Limits:MaxBulkSchedules", options.MaxBulkSchedules, 1, 10_000);
        Positive(errors, "Limits:MaxActiveSchedulesPerKey", options.MaxActiveSchedulesPerKey, 1, 100_000_000);
        Positive(errors, "Limits:MaxRedriveRuns", options.MaxRedriveRuns, 1, 100_000);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Positive(List<string> errors, string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{key} must be between {min} and {max} (got {value}).");
        }
    }
}
