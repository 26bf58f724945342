namespace Scheduler.Worker.Runs;

/// <summary>
/// The runs a finished run started through its schedule's continuations. They were committed with its outcome
/// (<see cref="Store.RunFinishStatement"/>, <see cref="ContinuationStatements"/>); here they are handed to
/// Hangfire, the way retries are. If this process dies first, a PENDING run without a job is what reconciliation
/// enqueues.
/// </summary>
internal sealed class Continuations(RunHandOff handOff, ILogger<Continuations> logger)
{
    public void Start(IReadOnlyList<ContinuationRun> runs)
    {
        foreach (var run in runs)
        {
            if (run.ToEnqueue is { } enqueue)
            {
                handOff.Post(enqueue);
            }
            Log.ContinuationCreated(logger, run.ParentRunId, run.RunId, run.ScheduleId, Core.Model.WireName.Of(run.Status));
        }
    }
}
