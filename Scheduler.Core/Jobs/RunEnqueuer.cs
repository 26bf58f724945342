using Hangfire;
using NpgsqlTypes;
using Scheduler.Core.Persistence;

namespace Scheduler.Core.Jobs;

/// <summary>A committed run to hand to Hangfire, to start at <see cref="DueAt"/> or, for a retry, at <paramref name="At"/>.</summary>
public sealed record RunToEnqueue(long RunId, long ScheduleId, DateTimeOffset DueAt, DateTimeOffset? At = null)
{
    /// <summary>When its job should be taken up: the due time, or the retry's time when later.</summary>
    public DateTimeOffset NotBefore => At is { } at && at > DueAt ? at : DueAt;
}

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
    /// Hands the runs to Hangfire, up to <paramref name="maxPerJob"/> in one job: runs that may start now or
    /// within <see cref="EnqueueAhead"/> go to the queue (<see cref="QueueNow"/>), later ones and retries to
    /// Hangfire's scheduled set, those starting within <see cref="ScheduleGrouping"/> of each other in one job
    /// scheduled for the first of them (each run still waits for its own time). Returns each run's job id.
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
        var order = Enumerable.Range(0, runs.Count).OrderBy(i => runs[i].NotBefore).ToArray();
        for (var start = 0; start < order.Length;)
        {
            var first = runs[order[start]];
            var queueNow = QueueNow(first, now);
            var end = start;
            while (end + 1 < order.Length && end + 1 - start < maxPerJob
                   && runs[order[end + 1]] is var next
                   && (queueNow ? QueueNow(next, now) : !QueueNow(next, now) && next.NotBefore - first.NotBefore <= ScheduleGrouping))
            {
                end++;
            }
            var batch = order[start..(end + 1)];
            var jobId = batch.Length == 1 ? EnqueueOne(first, now) : EnqueueBatch(batch.Select(i => runs[i]).ToArray(), queueNow ? null : first.NotBefore);
            foreach (var i in batch)
            {
                jobIds[i] = jobId;
            }
            start = end + 1;
        }
        await RecordJobIdsAsync(runs.Select(r => r.RunId).ToArray(), jobIds, cancellationToken);
        return jobIds;
    }

    /// <summary>
    /// A run due within <see cref="EnqueueAhead"/> goes to the queue now and its worker holds it until its time
    /// (the dispatcher's runs, due within the lead time); a retry waits in the scheduled set until its time,
    /// so that no worker holds it (and its lease) meanwhile.
    /// </summary>
    private static bool QueueNow(RunToEnqueue run, DateTimeOffset now) =>
        run.At is { } at ? at <= now : run.DueAt <= now + EnqueueAhead;

    private string EnqueueOne(RunToEnqueue run, DateTimeOffset now)
    {
        var (runId, scheduleId, dueAt) = (run.RunId, run.ScheduleId, run.DueAt.UtcDateTime);
        return QueueNow(run, now)
            ? jobs.Enqueue<IRunJob>(job => job.ExecuteAsync(runId, scheduleId, dueAt, null, CancellationToken.None))
            : jobs.Schedule<IRunJob>(job => job.ExecuteAsync(runId, scheduleId, dueAt, null, CancellationToken.None), run.NotBefore);
    }

    private string EnqueueBatch(RunToEnqueue[] batch, DateTimeOffset? at)
    {
        var ids = batch.Select(r => r.RunId).ToArray();
        var shown = string.Join(", ", batch.Take(5).Select(r => $"#{r.RunId} (schedule #{r.ScheduleId})"));
        var label = ids.Length > 5 ? $"{shown}, … ({ids.Length} runs)" : shown;
        var firstDue = batch[0].NotBefore.UtcDateTime;
        return at is { } when
            ? jobs.Schedule<IRunBatchJob>(job => job.ExecuteAsync(ids, label, firstDue, null, CancellationToken.None), when)
            : jobs.Enqueue<IRunBatchJob>(job => job.ExecuteAsync(ids, label, firstDue, null, CancellationToken.None));
    }

    /// <summary>Later runs (retries) starting this close together share a scheduled job; each still waits for its own time.</summary>
    public static readonly TimeSpan ScheduleGrouping = TimeSpan.FromSeconds(1);

    private async Task RecordJobIdsAsync(long[] runIds, string[] jobIds, CancellationToken cancellationToken)
    {
        // The jobs may already be running: a run a worker is claiming or recording now is skipped, not waited
        // for (waiting on rows that workers lock in another order deadlocked), and the claim records its job.
        // With the generic plan by primary key (GenericPlanStatement): the API and the dispatchers run it from a
        // new system's first batches on, and a plan made then for empty tables would read runs whole.
        await using var command = new GenericPlanStatement(database, RecordJobIdsSql);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = runIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = jobIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private const string RecordJobIdsSql = """
        WITH free AS (
            SELECT id FROM scheduler.runs WHERE id = ANY ($1) ORDER BY id FOR UPDATE SKIP LOCKED
        )
        UPDATE scheduler.runs r SET hangfire_job_id = v.job_id
        FROM unnest($1::bigint[], $2::text[]) AS v(run_id, job_id), free
        WHERE r.id = v.run_id AND free.id = v.run_id
        """;

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
