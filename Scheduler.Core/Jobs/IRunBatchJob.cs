using System.ComponentModel;
using Hangfire;
using Hangfire.Server;

namespace Scheduler.Core.Jobs;

/// <summary>
/// The Hangfire job of several runs due close together (the dispatcher's batches), so the engine's
/// per-job cost is shared. The label names the runs for the dashboard; only the ids drive execution.
/// Ends Failed when any of its runs ended unsuccessfully, naming them (<see cref="RunsFailedException"/>).
/// </summary>
public interface IRunBatchJob
{
    [JobDisplayName("Runs {1} · due from {2:yyyy-MM-dd HH:mm:ss.fff}Z")]
    [Queue(JobQueues.Runs)]
    [DisplayName("Execute runs")]
    Task<string?> ExecuteAsync(long[] runIds, string label, DateTime firstDueUtc, PerformContext? context, CancellationToken cancellationToken);
}
