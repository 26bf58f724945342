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
    /// Enqueues the runs, up to <paramref name="maxPerJob"/> in one Hangfire job (runs due close together,
    /// as the dispatcher hands them over, share the engine's per-job cost). A run due later than
    /// <see cref="EnqueueAhead"/> from now goes to Hangfire's scheduled set instead, which hands it over up
    /// to a second early; the worker then waits. Returns each run's job id.
    /// </summary>
    public async Task<IReadOnlyList<string>> EnqueueManyAsync(IReadOnlyList<RunToEnqueue> runs, CancellationToken cancellationToken, int maxPerJob = 1)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0)
        {
            return [];
        }
        var now = time.GetUtcNow();
        var jobIds = new string[runs.Count];
        var order = Enumerable.Range(0, runs.Count).OrderBy(i => runs[i].DueAt).ToArray();
        for (var start = 0; start < order.Length;)
        {
            var first = runs[order[start]];
            if (first.DueAt > now + EnqueueAhead || maxPerJob <= 1)
            {
                jobIds[order[start]] = EnqueueOne(first, now);
                start++;
                continue;
            }
            var end = start;
            while (end + 1 < order.Length && end + 1 - start < maxPerJob && runs[order[end + 1]].DueAt <= now + EnqueueAhead)
            {
                end++;
            }
            var batch = order[start..(end + 1)];
            var jobId = batch.Length == 1 ? EnqueueOne(first, now) : EnqueueBatch(batch.Select(i => runs[i]).ToArray());
            foreach (var i in batch)
            {
                jobIds[i] = jobId;
            }
            start = end + 1;
        }
        await RecordJobIdsAsync(runs.Select(r => r.RunId).ToArray(), jobIds, cancellationToken);
        return jobIds;
    }

    private string EnqueueOne(RunToEnqueue run, DateTimeOffset now)
    {
        var (runId, scheduleId, dueAt) = (run.RunId, run.ScheduleId, run.DueAt.UtcDateTime);
        return run.DueAt <= now + EnqueueAhead
            ? jobs.Enqueue<IRunJob>(job => job.ExecuteAsync(runId, scheduleId, dueAt, null, CancellationToken.None))
            : jobs.Schedule<IRunJob>(job => job.ExecuteAsync(runId, scheduleId, dueAt, null, CancellationToken.None), run.DueAt);
    }

    private string EnqueueBatch(RunToEnqueue[] batch)
    {
        var ids = batch.Select(r => r.RunId).ToArray();
        var shown = string.Join(", ", batch.Take(5).Select(r => $"#{r.RunId} (schedule #{r.ScheduleId})"));
        var label = ids.Length > 5 ? $"{shown}, … ({ids.Length} runs)" : shown;
        var firstDue = batch[0].DueAt.UtcDateTime;
        return jobs.Enqueue<IRunBatchJob>(job => job.ExecuteAsync(ids, label, firstDue, null, CancellationToken.None));
    }

    private async Task RecordJobIdsAsync(long[] runIds, string[] jobIds, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            UPDATE scheduler.runs r SET hangfire_job_id = v.job_id
            FROM unnest($1::bigint[], $2::text[]) AS v(run_id, job_id)
            WHERE r.id = v.run_id
            """);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = runIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = jobIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Queues the run's job for <paramref name="at"/> in Hangfire's scheduled set (durable in PostgreSQL; the
    /// worker waits only the last second or so): a retry, or a run that must wait its turn.
    /// </summary>
    public async Task<string> RetryAtAsync(RunToEnqueue run, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        var (runId, scheduleId, dueAt) = (run.RunId, run.ScheduleId, run.DueAt.UtcDateTime);
        var jobId = at <= time.GetUtcNow()
            ? jobs.Enqueue<IRunJob>(job => job.ExecuteAsync(runId, scheduleId, dueAt, null, CancellationToken.None))
            : jobs.Schedule<IRunJob>(job => job.ExecuteAsync(runId, scheduleId, dueAt, null, CancellationToken.None), at);
        await RecordJobIdsAsync([runId], [jobId], cancellationToken);
        return jobId;
    }

    /// <summary>
    /// Runs due this soon go straight to the queue, where a worker holds them until their due time: the
    /// dispatcher queues occurrences its lead time ahead, and the job waits to the millisecond.
    /// </summary>
    public static readonly TimeSpan EnqueueAhead = TimeSpan.FromSeconds(5);
}
