namespace Scheduler.Core.Hosting;

/// <summary>How runs are executed (section <c>Execution</c>).</summary>
public sealed class ExecutionOptions
{
    public const string Section = "Execution";

    /// <summary>Timeout of a target that does not set its own.</summary>
    public int DefaultTimeoutSeconds { get; set; } = 30;

    /// <summary>The largest timeout a target may ask for.</summary>
    public int MaxTimeoutSeconds { get; set; } = 3600;

    /// <summary>How much of a response body a run keeps (<c>response_excerpt</c>); the size is always counted.</summary>
    public int ResponseExcerptBytes { get; set; } = 10 * 1024;

    /// <summary>How long a RUNNING run stays owned by its worker without a renewal.</summary>
    public int LeaseSeconds { get; set; } = 30;

    /// <summary>How often a worker renews the lease of a run it is executing.</summary>
    public int LeaseRenewalSeconds { get; set; } = 5;

    public int MaxRedirects { get; set; } = 5;

    /// <summary>How long a pooled outbound connection lives, so DNS changes are seen.</summary>
    public int PooledConnectionLifetimeSeconds { get; set; } = 120;

    /// <summary>
    /// A circuit breaker per target host (host and port): when at least
    /// <see cref="CircuitBreakerMinimumThroughput"/> calls in 30 s failed at this ratio (network errors,
    /// 5xx, 408, 429), calls to that host are not made for <see cref="CircuitBreakerBreakSeconds"/>; their
    /// attempts fail as CONNECTION_ERROR and retry later. One dead host does not tie up the workers.
    /// </summary>
    public bool CircuitBreakerEnabled { get; set; } = true;

    public double CircuitBreakerFailureRatio { get; set; } = 0.8;

    public int CircuitBreakerMinimumThroughput { get; set; } = 20;

    public int CircuitBreakerBreakSeconds { get; set; } = 15;

    /// <summary>Attempts per run (the first included) when a schedule says nothing (seed 000: 3).</summary>
    public int RetryMaxAttempts { get; set; } = 3;

    /// <summary>Delay before the second attempt; it doubles for each one after, with ±20 % jitter.</summary>
    public int RetryInitialIntervalSeconds { get; set; } = 2;

    /// <summary>The longest delay between attempts.</summary>
    public int RetryMaxIntervalSeconds { get; set; } = 300;

    /// <summary>
    /// Status codes that are retried (besides network errors and timeouts): codes, or classes such as
    /// <c>5xx</c>. Any other status ends the run.
    /// </summary>
    public List<string> RetryOnStatusCodes { get; set; } = ["408", "429", "5xx"];

    /// <summary>A <c>Retry-After</c> longer than this is cut to it.</summary>
    public int MaxRetryAfterSeconds { get; set; } = 3600;

    /// <summary>Signs every call (<c>Scheduler-Signature</c>) when set; a target's own secret wins.</summary>
    public string? SigningSecret { get; set; }

    /// <summary>Delivery attempts per callback.</summary>
    public int CallbackMaxAttempts { get; set; } = 5;

    public int CallbackInitialIntervalSeconds { get; set; } = 2;

    public int CallbackMaxIntervalSeconds { get; set; } = 300;

    public int CallbackTimeoutSeconds { get; set; } = 10;

    /// <summary>The retention job removes runs (with their attempts and deliveries) that ended longer ago than this.</summary>
    public int RetentionDays { get; set; } = 30;

    /// <summary>When the retention job runs (Hangfire recurring job, cron in UTC); empty turns it off.</summary>
    public string RetentionCron { get; set; } = "0 3 * * *";

    /// <summary>Whether a status code is retried by <see cref="RetryOnStatusCodes"/>.</summary>
    public bool RetriesStatus(int statusCode) =>
        RetryOnStatusCodes.Any(rule => rule.Length == 3 && rule.EndsWith("xx", StringComparison.OrdinalIgnoreCase)
            ? statusCode / 100 == rule[0] - '0'
            : int.TryParse(rule, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code) && code == statusCode);
}

internal sealed class ExecutionOptionsValidator : IValidateOptions<ExecutionOptions>
{
    public ValidateOptionsResult Validate(string? name, ExecutionOptions options)
    {
        var errors = new List<string>();
        Between(errors, "Execution:MaxTimeoutSeconds", options.MaxTimeoutSeconds, 1, 24 * 3600);
        Between(errors, "Execution:DefaultTimeoutSeconds", options.DefaultTimeoutSeconds, 1, options.MaxTimeoutSeconds);
        Between(errors, "Execution:ResponseExcerptBytes", options.ResponseExcerptBytes, 0, 1024 * 1024);
        Between(errors, "Execution:LeaseSeconds", options.LeaseSeconds, 2, 3600);
        Between(errors, "Execution:LeaseRenewalSeconds", options.LeaseRenewalSeconds, 1, Math.Max(1, options.LeaseSeconds / 2));
        Between(errors, "Execution:MaxRedirects", options.MaxRedirects, 0, 50);
        Between(errors, "Execution:PooledConnectionLifetimeSeconds", options.PooledConnectionLifetimeSeconds, 1, 24 * 3600);
        Between(errors, "Execution:RetryMaxAttempts", options.RetryMaxAttempts, 1, 100);
        Between(errors, "Execution:CircuitBreakerMinimumThroughput", options.CircuitBreakerMinimumThroughput, 2, 100_000);
        Between(errors, "Execution:CircuitBreakerBreakSeconds", options.CircuitBreakerBreakSeconds, 1, 24 * 3600);
        if (options.CircuitBreakerFailureRatio is <= 0 or > 1)
        {
            errors.Add($"Execution:CircuitBreakerFailureRatio must be above 0 and at most 1 (got {options.CircuitBreakerFailureRatio}).");
        }
        Between(errors, "Execution:RetryInitialIntervalSeconds", options.RetryInitialIntervalSeconds, 0, 24 * 3600);
        Between(errors, "Execution:RetryMaxIntervalSeconds", options.RetryMaxIntervalSeconds, Math.Max(0, options.RetryInitialIntervalSeconds), 7 * 24 * 3600);
        Between(errors, "Execution:MaxRetryAfterSeconds", options.MaxRetryAfterSeconds, 0, 7 * 24 * 3600);
        Between(errors, "Execution:CallbackMaxAttempts", options.CallbackMaxAttempts, 1, 100);
        Between(errors, "Execution:CallbackInitialIntervalSeconds", options.CallbackInitialIntervalSeconds, 0, 24 * 3600);
        Between(errors, "Execution:CallbackMaxIntervalSeconds", options.CallbackMaxIntervalSeconds, Math.Max(0, options.CallbackInitialIntervalSeconds), 7 * 24 * 3600);
        Between(errors, "Execution:CallbackTimeoutSeconds", options.CallbackTimeoutSeconds, 1, 3600);
        Between(errors, "Execution:RetentionDays", options.RetentionDays, 1, 36500);
        foreach (var rule in options.RetryOnStatusCodes.Where(r => !(r.Length == 3 && (r.EndsWith("xx", StringComparison.OrdinalIgnoreCase) ? r[0] is >= '1' and <= '5' : int.TryParse(r, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var c) && c is >= 100 and <= 599))))
        {
            errors.Add($"Execution:RetryOnStatusCodes has '{rule}': give status codes (429) or classes (5xx).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Between(List<string> errors, string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{key} must be between {min} and {max} (got {value}).");
        }
    }
}
