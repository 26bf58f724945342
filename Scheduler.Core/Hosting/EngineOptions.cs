namespace Scheduler.Core.Hosting;

/// <summary>Hangfire, the job engine: how workers poll, fetch and hold jobs (section <c>Hangfire</c>).</summary>
public sealed class EngineOptions
{
    public const string Section = "Hangfire";

    /// <summary>Concurrent jobs per worker process. HTTP calls wait on I/O, so many more than cores.</summary>
    public int WorkerCount { get; set; } = 20;

    /// <summary>Fallback queue poll; new jobs wake workers at once through LISTEN/NOTIFY (long polling).</summary>
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often delayed (scheduled) Hangfire jobs are moved to their queue.</summary>
    public TimeSpan SchedulePollingInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a fetched job stays invisible to other workers after its worker stops renewing it
    /// (sliding). Bounds how soon a job of a killed worker is fetched again; Hangfire's own default is 30 min.
    /// </summary>
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan DistributedLockTimeout { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A server without a heartbeat for this long is removed from the server list.</summary>
    public TimeSpan ServerTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long Hangfire keeps a finished job (succeeded, deleted, and failed too): the runs table is the
    /// history, so the hangfire schema stays small.
    /// </summary>
    public TimeSpan JobExpiration { get; set; } = TimeSpan.FromDays(1);

    /// <summary>On SIGTERM, how long in-flight calls may go on before they are cancelled and their runs handed back.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

internal sealed class EngineOptionsValidator : IValidateOptions<EngineOptions>
{
    public ValidateOptionsResult Validate(string? name, EngineOptions options)
    {
        var errors = new List<string>();
        if (options.WorkerCount is < 1 or > 1000)
        {
            errors.Add($"Hangfire:WorkerCount must be between 1 and 1000 (got {options.WorkerCount}).");
        }
        Between(errors, "Hangfire:QueuePollInterval", options.QueuePollInterval, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(5));
        Between(errors, "Hangfire:SchedulePollingInterval", options.SchedulePollingInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5));
        Between(errors, "Hangfire:InvisibilityTimeout", options.InvisibilityTimeout, TimeSpan.FromSeconds(5), TimeSpan.FromHours(1));
        Between(errors, "Hangfire:DistributedLockTimeout", options.DistributedLockTimeout, TimeSpan.FromSeconds(5), TimeSpan.FromHours(1));
        Between(errors, "Hangfire:HeartbeatInterval", options.HeartbeatInterval, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));
        Between(errors, "Hangfire:ServerTimeout", options.ServerTimeout, options.HeartbeatInterval * 2, TimeSpan.FromHours(1));
        Between(errors, "Hangfire:JobExpiration", options.JobExpiration, TimeSpan.FromMinutes(1), TimeSpan.FromDays(365));
        Between(errors, "Hangfire:ShutdownTimeout", options.ShutdownTimeout, TimeSpan.Zero, TimeSpan.FromHours(1));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static void Between(List<string> errors, string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{key} must be between {min:c} and {max:c} (got {value:c}).");
        }
    }
}
