using Hangfire.States;
using Hangfire.Storage;

namespace Scheduler.Core.Jobs;

/// <summary>
/// Marks a job that a person sent back to its queue after it had finished (the dashboard's "Requeue"),
/// so the run it carries gets another attempt, recorded as manual. Automatic moves (a scheduled job
/// coming due, Hangfire's own retry) are not marked.
/// </summary>
public sealed class ManualRequeueFilter : IApplyStateFilter
{
    public const string Parameter = "ManualRequeue";

    private static readonly HashSet<string> Finished = new(StringComparer.OrdinalIgnoreCase)
    {
        SucceededState.StateName, FailedState.StateName, DeletedState.StateName,
    };

    public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.NewState is EnqueuedState && context.OldStateName is { } old && Finished.Contains(old))
        {
            context.Connection.SetJobParameter(context.BackgroundJob.Id, Parameter, "true");
        }
    }

    public void OnStateUnapplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
    }
}
