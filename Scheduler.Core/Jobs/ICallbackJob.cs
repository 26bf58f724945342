using System.ComponentModel;
using Hangfire;

namespace Scheduler.Core.Jobs;

/// <summary>Delivers a run's outcome to its schedule's callback URL (seed 000); one job per delivery attempt.</summary>
public interface ICallbackJob
{
    [JobDisplayName("Callback #{0} · run #{1}")]
    [Queue(JobQueues.Callbacks)]
    [DisplayName("Deliver callback")]
    Task DeliverAsync(long deliveryId, long runId, CancellationToken cancellationToken);
}

/// <summary>Maintenance that runs on Hangfire's recurring schedule in the workers.</summary>
public interface IMaintenanceJob
{
    [JobDisplayName("Retention: delete runs older than the retention period")]
    [Queue(JobQueues.Default)]
    Task RetentionAsync(CancellationToken cancellationToken);

    /// <summary>Returns what it repaired, which the dashboard shows as the job's result.</summary>
    [JobDisplayName("Reconciliation: repair runs, schedules and callbacks that stopped progressing")]
    [Queue(JobQueues.Default)]
    Task<string> ReconcileAsync(CancellationToken cancellationToken);
}
