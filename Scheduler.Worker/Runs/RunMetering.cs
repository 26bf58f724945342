using Scheduler.Core.Observability;

namespace Scheduler.Worker.Runs;

/// <summary>
/// What a run's steps tell the <c>Scheduler</c> meter, once each is recorded in the database: a first call's
/// lateness, every attempt, the run's end (SKIPPED included). In memory only, no statement of its own.
/// </summary>
internal sealed class RunMetering(SchedulerMetrics metrics)
{
    /// <summary>An attempt's outcome was recorded; <paramref name="ends"/>: no retry follows, the run is over.</summary>
    public void Recorded(RunPlan plan, RunClaim claim, CallOutcome outcome, bool ends)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(outcome);
        if (claim.AttemptNumber == 1)
        {
            // The run's lateness_ms is its first attempt's: the histogram counts the same starts.
            metrics.RunStarted(plan.ScheduleType, outcome.StartedAt - plan.DueAt);
        }
        metrics.AttemptRecorded(outcome.AttemptStatus, outcome.ErrorType, outcome.CompletedAt - outcome.StartedAt);
        if (ends)
        {
            metrics.RunCompleted(outcome.Status, plan.ScheduleType);
        }
    }

    /// <summary>A dead worker's attempt was recorded LOST as this worker took the run over (its duration is unknown).</summary>
    public void Lost() => metrics.AttemptLost();

    /// <summary>The run was recorded SKIPPED without a call (max_delay, overlap).</summary>
    public void Skipped(RunPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        metrics.RunCompleted(RunStatus.Skipped, plan.ScheduleType);
    }
}
