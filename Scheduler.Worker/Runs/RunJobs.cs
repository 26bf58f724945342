using Hangfire.Server;

namespace Scheduler.Worker.Runs;

/// <summary>What a job requeued by hand (the dashboard's Requeue, <see cref="ManualRequeueFilter"/>) retries.</summary>
internal enum ManualRequeue
{
    /// <summary>Not requeued by hand: a finished run is left alone.</summary>
    None,

    /// <summary>A lone run's job: its run gets another attempt, however it ended.</summary>
    TheRun,

    /// <summary>A batch's job: only its runs that ended unsuccessfully in it, never those that succeeded beside them.</summary>
    FailedRuns,
}

/// <summary>The Hangfire job of one run. Fails when the run ended unsuccessfully (<see cref="JobVerdict"/>).</summary>
internal sealed class RunJob(RunExecution execution) : IRunJob
{
    public async Task<string?> ExecuteAsync(long runId, long scheduleId, DateTime dueAtUtc, PerformContext? context, CancellationToken cancellationToken)
    {
        var manual = RequeuedByHand(context) ? ManualRequeue.TheRun : ManualRequeue.None;
        return JobVerdict.Of([await execution.ExecuteAsync(runId, manual, context?.BackgroundJob.Id, cancellationToken)]);
    }

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
/// concurrently, so Hangfire's per-job cost is paid once for all of them. Fails when any run ended
/// unsuccessfully, naming those runs (<see cref="JobVerdict"/>).
/// </summary>
internal sealed class RunBatchJob(RunExecution execution) : IRunBatchJob
{
    public async Task<string?> ExecuteAsync(long[] runIds, string label, DateTime firstDueUtc, PerformContext? context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        var manual = RunJob.RequeuedByHand(context) ? ManualRequeue.FailedRuns : ManualRequeue.None;
        var jobId = context?.BackgroundJob.Id;
        var runs = runIds.Select(id => execution.ExecuteAsync(id, manual, jobId, cancellationToken)).ToArray();
        AttemptEnd?[] ends;
        try
        {
            ends = await Task.WhenAll(runs);
        }
        catch when (runs.Where(r => r.IsFaulted).All(r => r.Exception!.InnerException is OperationCanceledException))
        {
            // Shutdown: every run that had not finished was handed back; let Hangfire requeue the job.
            throw new OperationCanceledException(cancellationToken);
        }
        // Outside the catch above, which would take the verdict's exception for a shutdown.
        return JobVerdict.Of(ends);
    }
}
