using Microsoft.Extensions.Options;

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
