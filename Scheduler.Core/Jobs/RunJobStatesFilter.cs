using Hangfire.Common;
using Hangfire.States;

namespace Scheduler.Core.Jobs;

/// <summary>
/// Gives a run job's final Hangfire state the runs' story as its reason: Failed says which runs ended
/// unsuccessfully and why (<see cref="RunsFailedException"/>'s message, which names each run's page), and
/// Succeeded after a failed attempt whose retry is scheduled says when the next attempt is (the job's result;
/// Hangfire has no "failed, will retry" state, and the retry is another job). A job whose runs all succeeded
/// returns no result and keeps Hangfire's own reason, so the usual path costs nothing.
/// </summary>
public sealed class RunJobStatesFilter : IElectStateFilter
{
    public void OnStateElection(ElectStateContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        switch (context.CandidateState)
        {
            case FailedState { Exception: RunsFailedException failed } state:
                state.Reason = failed.Message;
                break;
            case SucceededState { Result: string note } state when IsRunJob(context.BackgroundJob.Job):
                state.Reason = note;
                break;
        }
    }

    public static bool IsRunJob(Job? job) => job?.Type == typeof(IRunJob) || job?.Type == typeof(IRunBatchJob);
}
