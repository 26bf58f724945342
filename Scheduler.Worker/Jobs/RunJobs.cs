using Scheduler.Core.Jobs;

namespace Scheduler.Worker.Jobs;

/// <summary>The Hangfire job of one run.</summary>
internal sealed class RunJob(RunExecution execution) : IRunJob
{
    public Task ExecuteAsync(long runId, long scheduleId, DateTime dueAtUtc, CancellationToken cancellationToken) =>
        execution.ExecuteAsync(runId, cancellationToken);
}

/// <summary>
/// The Hangfire job of several runs dispatched together: each goes through the same steps as alone,
/// concurrently, so Hangfire's per-job cost is paid once for all of them.
/// </summary>
internal sealed class RunBatchJob(RunExecution execution) : IRunBatchJob
{
    public async Task ExecuteAsync(long[] runIds, string label, DateTime firstDueUtc, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        var runs = runIds.Select(id => execution.ExecuteAsync(id, cancellationToken)).ToArray();
        try
        {
            await Task.WhenAll(runs);
        }
        catch when (runs.Any(r => r.IsFaulted) && runs.Where(r => r.IsFaulted).All(r => r.Exception!.InnerException is OperationCanceledException))
        {
            // Shutdown: every run that had not finished was handed back; let Hangfire requeue the job.
            throw new OperationCanceledException(cancellationToken);
        }
    }
}
