using Hangfire.Server;
using Scheduler.Core.Jobs;

namespace Scheduler.Worker.Runs;

/// <summary>The Hangfire job of one run.</summary>
internal sealed class RunJob(RunExecution execution) : IRunJob
{
    public Task ExecuteAsync(long runId, long scheduleId, DateTime dueAtUtc, PerformContext? context, CancellationToken cancellationToken) =>
        execution.ExecuteAsync(runId, RequeuedByHand(context), context?.BackgroundJob.Id, cancellationToken);

    /// <summary>True once per manual requeue: the mark is cleared as it is read.</summary>
    internal static bool RequeuedByHand(PerformContext? context)
    {
        if (context?.GetJobParameter<string>(ManualRequeueFilter.Parameter) != "true")
        {
            return false;
        }
        context.SetJobParameter(ManualRequeueFilter.Parameter, "false");
        return true;
    }
}

/// <summary>
/// The Hangfire job of several runs dispatched together: each goes through the same steps as alone,
/// concurrently, so Hangfire's per-job cost is paid once for all of them.
/// </summary>
internal sealed class RunBatchJob(RunExecution execution) : IRunBatchJob
{
    public async Task ExecuteAsync(long[] runIds, string label, DateTime firstDueUtc, PerformContext? context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        var manual = RunJob.RequeuedByHand(context);
        var jobId = context?.BackgroundJob.Id;
        var runs = runIds.Select(id => execution.ExecuteAsync(id, manual, jobId, cancellationToken)).ToArray();
        try
        {
            await Task.WhenAll(runs);
        }
        catch when (runs.Where(r => r.IsFaulted).All(r => r.Exception!.InnerException is OperationCanceledException))
        {
            // Shutdown: every run that had not finished was handed back; let Hangfire requeue the job.
            throw new OperationCanceledException(cancellationToken);
        }
    }
}
