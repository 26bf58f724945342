using Hangfire.States;
using Hangfire.Storage;

namespace Scheduler.Core.Jobs;

/// <summary>
/// Hangfire expires succeeded and deleted jobs but keeps failed ones for ever. Ours fail only when the
/// database was unreachable for all of Hangfire's retries, and the run itself records what happened
/// (reconciliation repairs it), so failed jobs expire like the rest.
/// </summary>
public sealed class ExpireFailedJobsFilter(TimeSpan expiration) : IApplyStateFilter
{
    public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(transaction);
        if (context.NewState is FailedState)
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
