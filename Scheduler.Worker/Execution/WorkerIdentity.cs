namespace Scheduler.Worker.Execution;

/// <summary>This worker process, as named on leases, attempts and Hangfire's server list.</summary>
internal sealed class WorkerIdentity
{
    public string Name { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";
}
