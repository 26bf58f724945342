using Hangfire;
using Npgsql;
using NpgsqlTypes;
using Scheduler.Core.Model;

namespace Scheduler.Core.Jobs;

/// <summary>A committed run to hand to Hangfire.</summary>
public sealed record RunToEnqueue(long RunId, long ScheduleId, DateTimeOffset DueAt);

/// <summary>
/// Hands committed runs to Hangfire and records each job id on its run. Called after the runs' rows are
/// committed: if the process dies in between, a run stays PENDING without a job and reconciliation
/// enqueues it.
/// </summary>
public sealed class RunEnqueuer(IBackgroundJobClient jobs, NpgsqlDataSource database, TimeProvider time)
{
    public async Task<string> EnqueueAsync(Run run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        var jobIds = await EnqueueManyAsync([new RunToEnqueue(run.Id, run.ScheduleId, run.DueAt)], cancellationToken);
        run.HangfireJobId = jobIds[0];
        return jobIds[0];
    }

    /// <summary>
    /// Enqueues the runs (a run due later than <paramref name="notBefore"/> or now goes to Hangfire's
    /// scheduled set instead, which hands it over up to a second early; the worker then waits).
    /// </summary>
    public async Task<IReadOnlyList<string>> EnqueueManyAsync(IReadOnlyList<RunToEnqueue> runs, CancellationToken cancellationToken, DateTimeOffset? notBefore = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0)
        {
            return [];
        }
        var now = time.GetUtcNow();
        var jobIds = new string[runs.Count];
        for (var i = 0; i < runs.Count; i++)
        {
            var (runId, scheduleId, dueAt) = (runs[i].RunId, runs[i].ScheduleId, runs[i].DueAt.UtcDateTime);
            var at = notBefore ?? runs[i].DueAt;
            jobIds[i] = at <= now + EnqueueAhead
                ? jobs.Enqueue<IRunJob>(job => job.ExecuteAsync(runId, scheduleId, dueAt, CancellationToken.None))
                : jobs.Schedule<IRunJob>(job => job.ExecuteAsync(runId, scheduleId, dueAt, CancellationToken.None), at);
        }
        await using var command = database.CreateCommand("""
            UPDATE scheduler.runs r SET hangfire_job_id = v.job_id
            FROM unnest($1::bigint[], $2::text[]) AS v(run_id, job_id)
            WHERE r.id = v.run_id
            """);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = runs.Select(r => r.RunId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = jobIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);
        return jobIds;
    }

    /// <summary>Queues the run's job again after <paramref name="delay"/> (for a run that must wait its turn).</summary>
    public async Task<string> RetryLaterAsync(RunToEnqueue run, TimeSpan delay, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        var (runId, scheduleId, dueAt) = (run.RunId, run.ScheduleId, run.DueAt.UtcDateTime);
        var jobId = jobs.Schedule<IRunJob>(job => job.ExecuteAsync(runId, scheduleId, dueAt, CancellationToken.None), delay);
        await using var command = database.CreateCommand("UPDATE scheduler.runs SET hangfire_job_id = $2 WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
        await command.ExecuteNonQueryAsync(cancellationToken);
        return jobId;
    }

    /// <summary>
    /// Runs due this soon go straight to the queue, where a worker holds them until their due time: the
    /// dispatcher queues occurrences its lead time ahead, and the job waits to the millisecond.
    /// </summary>
    public static readonly TimeSpan EnqueueAhead = TimeSpan.FromSeconds(5);
}
