using Microsoft.Extensions.Logging;
using Scheduler.Core.Observability;
using Scheduler.Core.Persistence;

namespace Scheduler.Core.Jobs;

/// <summary>
/// Makes a Hangfire job fetched again after its earlier fetch expired visible: its runs waited
/// <c>Hangfire:InvisibilityTimeout</c> (30 s) with nothing else saying why. A warning names the job and the
/// earlier fetch (event 1010), <c>scheduler_jobs_fetched_again_total</c> counts it, and each of its runs still
/// PENDING gets a remark, so a run 30 s late says what kept it. A fetch is rarely a second one (after a killed
/// worker); the usual fetch costs nothing here, a second one one statement.
/// </summary>
internal sealed class RefetchedJobs(NpgsqlDataSource? database, SchedulerMetrics? metrics, ILogger logger)
{
    /// <summary>
    /// Called while the fetch still holds its claim uncommitted, so the runs are still waiting for the job
    /// (PENDING) and a report that fails rolls the claim back instead of losing the job. The claimant is the
    /// id of the process that made the earlier fetch (0: not recorded, a fetch by an older version); when that is
    /// this process, <paramref name="history"/> says what its workers did with the job (<see cref="HandedJobs"/>).
    /// </summary>
    public void Report(string jobId, DateTimeOffset earlierFetch, int claimant, TimeSpan invisibility, string? history = null)
    {
        var by = claimant == 0 ? "a process not recorded" : claimant == Environment.ProcessId ? $"this process ({claimant}: {history})" : $"process {claimant}";
        Log.JobFetchedAgain(logger, jobId, earlierFetch, by, invisibility);
        metrics?.JobFetchedAgain();
        if (database is null)
        {
            return;
        }
        // The scheduler's own database (Hangfire's may be another): the job's runs whose current job it is.
        using var command = database.CreateCommand(RemarkSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
        command.Parameters.Add(new NpgsqlParameter<string>
        {
            TypedValue = $"Its Hangfire job {jobId} was fetched at {earlierFetch.UtcDateTime:O} by {by}, which neither ran it nor "
                + $"handed it back; fetched again after Hangfire:InvisibilityTimeout ({invisibility}), so the run started that much late.",
        });
        command.ExecuteNonQuery();
    }

    // Through ix_runs_status_due_at: the PENDING runs are the few not yet started.
    private static readonly string RemarkSql =
        $"UPDATE scheduler.runs SET {RunStatements.AppendRemark("$2")} WHERE status = {Sql.Literal(RunStatus.Pending)} AND hangfire_job_id = $1";
}
