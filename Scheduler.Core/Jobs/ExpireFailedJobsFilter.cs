using Hangfire.States;
using Hangfire.Storage;

namespace Scheduler.Core.Jobs;

/// <summary>
/// Hangfire keeps failed jobs for ever. A run job that failed because its runs did (<see cref="RunsFailedException"/>)
/// is kept: the Failed page is the dead-letter list, and <see cref="FailedRunJobs"/> takes a job off it once its runs
/// were retried, succeeded or were deleted. Any other job fails only when the database was unreachable for all
/// of Hangfire's retries, and the run itself records what happened (reconciliation repairs it), so those failed
/// jobs expire like the rest.
/// </summary>
public sealed class ExpireFailedJobsFilter(TimeSpan expiration) : IApplyStateFilter
{
    public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(transaction);
        if (context.NewState is FailedState { Exception: not RunsFailedException })
        {
            transaction.ExpireJob(context.BackgroundJob.Id, expiration);
        }
    }

    public void OnStateUnapplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(transaction);
        if (context.OldStateName == FailedState.StateName)
        {
            transaction.PersistJob(context.BackgroundJob.Id);
        }
    }
}
