using Hangfire;
using Microsoft.EntityFrameworkCore;
using Scheduler.Core.Model;
using Scheduler.Core.Persistence;

namespace Scheduler.Core.Jobs;

/// <summary>
/// Hands a committed run to Hangfire and records the job id on the run. Called after the run's row
/// is committed: if the process dies in between, the run stays PENDING without a job and
/// reconciliation enqueues it.
/// </summary>
public sealed class RunEnqueuer(IBackgroundJobClient jobs, SchedulerDbContext db, TimeProvider time)
{
    public async Task<string> EnqueueAsync(Run run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        var (runId, scheduleId, dueAt) = (run.Id, run.ScheduleId, run.DueAt.UtcDateTime);
        // A run due now goes straight to the queue; a later one waits in Hangfire's scheduled set. Hangfire
        // moves it to the queue up to a second early (whole-second scores); the worker then waits for due_at.
        var jobId = run.DueAt <= time.GetUtcNow()
            ? jobs.Enqueue<IRunJob>(job => job.ExecuteAsync(runId, scheduleId, dueAt, CancellationToken.None))
            : jobs.Schedule<IRunJob>(job => job.ExecuteAsync(runId, scheduleId, dueAt, CancellationToken.None), run.DueAt);
        run.HangfireJobId = jobId;
        await db.Runs.Where(r => r.Id == runId)
            .ExecuteUpdateAsync(set => set.SetProperty(r => r.HangfireJobId, jobId), cancellationToken);
        return jobId;
    }
}
