using System.ComponentModel;
using Hangfire;
using Hangfire.Server;

namespace Scheduler.Core.Jobs;

/// <summary>
/// The Hangfire job that executes one run. The API enqueues it by id; the worker implements it.
/// Only the run id drives execution: the schedule id and due time are there so the
/// dashboard can show which occurrence a job is. Hangfire supplies the context (pass null).
/// The job ends Failed when its run ended unsuccessfully (<see cref="RunsFailedException"/>); its result, when
/// there is one, says that a failed attempt will be retried and when (<see cref="RunJobStatesFilter"/>).
/// </summary>
public interface IRunJob
{
    [JobDisplayName("Run #{0} · schedule #{1} · due {2:yyyy-MM-dd HH:mm:ss.fff}Z")]
    [Queue(JobQueues.Runs)]
    [DisplayName("Execute run")]
    Task<string?> ExecuteAsync(long runId, long scheduleId, DateTime dueAtUtc, PerformContext? context, CancellationToken cancellationToken);
}

/// <summary>Hangfire queues. Workers listen to all of them; the names keep the dashboard readable.</summary>
public static class JobQueues
{
    public const string Runs = "runs";
    public const string Callbacks = "callbacks";
    public const string Default = "default";

    public static readonly string[] All = [Runs, Callbacks, Default];
}
