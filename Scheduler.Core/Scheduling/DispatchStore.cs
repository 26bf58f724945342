using System.Runtime.ExceptionServices;
using NpgsqlTypes;
using Scheduler.Core.Hosting;
using Scheduler.Core.Jobs;
using Scheduler.Core.Observability;
using Scheduler.Core.Persistence;

namespace Scheduler.Core.Scheduling;

/// <summary>What one dispatch pass did.</summary>
/// <param name="Claimed">Schedules claimed (a full batch means more may be due).</param>
/// <param name="ToEnqueue">New PENDING runs, to hand to Hangfire.</param>
/// <param name="Skipped">New runs recorded as SKIPPED.</param>
public sealed record DispatchResult(int Claimed, IReadOnlyList<RunToEnqueue> ToEnqueue, int Skipped);

/// <summary>
/// The dispatcher's SQL. One transaction per batch: claim due schedules with <c>FOR UPDATE SKIP LOCKED</c>
/// (so workers racing never take the same schedule), plan (<see cref="OccurrencePlanner"/>), insert the runs under the unique (schedule_id, due_at) index (so
/// one occurrence makes one run whatever happens), and move each schedule to its next occurrence.
/// Every query is scoped to the claimed schedules or to the due window.
/// </summary>
public sealed class DispatchStore(NpgsqlDataSource database, SchedulerMetrics metrics, TimeProvider time)
{
    private const string Columns = """
        id, schedule_type, status, run_at, interval_seconds, start_at, end_at, cron_expression, time_zone,
        next_run_at, overlap_policy, catch_up_policy, trace_parent
        """;

    /// <summary>
    /// Dispatches every due schedule, batch after batch, and hands each batch's runs to Hangfire as soon as
    /// it is committed (even if <paramref name="cancellationToken"/> fires meanwhile, or the next batch fails:
    /// committed runs are queued). A batch's hand-off runs while the next batch is dispatched, one hand-off at a
    /// time and in order: a dispatcher that has fallen behind catches up in full batches, and the hand-off
    /// (Hangfire's jobs, then their ids on the runs) is most of a batch's round trips. Errors wait until every
    /// committed batch has been handed off: a claim's is thrown then; otherwise the first hand-off's (the runs it
    /// left without a job are queued by reconciliation). Used by the dispatcher and by reconciliation.
    /// </summary>
    public async Task DispatchAllDueAsync(RunEnqueuer enqueuer, SchedulingOptions settings, Action<DispatchResult>? dispatched, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(enqueuer);
        ArgumentNullException.ThrowIfNull(settings);
        Task? handOff = null;
        Exception? failed = null;
        try
        {
            DispatchResult result;
            do
            {
                result = await DispatchAsync(settings.Rules, settings.BatchSize, cancellationToken);
                await WaitForAsync(handOff);
                // Hangfire's client blocks: the hand-off goes to the thread pool, so the next batch is claimed meanwhile.
                var batch = result;
                handOff = batch.Claimed > 0 ? Task.Run(() => HandOffAsync(batch), CancellationToken.None) : null;
            }
            while (result.Claimed == settings.BatchSize && failed is null && !cancellationToken.IsCancellationRequested);
        }
        finally
        {
            await WaitForAsync(handOff);
        }
        if (failed is not null)
        {
            ExceptionDispatchInfo.Throw(failed);
        }

        async Task HandOffAsync(DispatchResult batch)
        {
            await enqueuer.EnqueueManyAsync(batch.ToEnqueue, CancellationToken.None, settings.MaxRunsPerJob);
            dispatched?.Invoke(batch);
        }

        async Task WaitForAsync(Task? running)
        {
            try
            {
                if (running is not null)
                {
                    await running;
                }
            }
            catch (Exception ex)
            {
                failed ??= ex;
            }
        }
    }

    public async Task<DispatchResult> DispatchAsync(DispatchRules rules, int batchSize, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        var (schedules, now) = await ClaimAsync(connection, transaction, rules.Lead, batchSize, cancellationToken);
        if (schedules.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return new DispatchResult(0, [], 0);
        }
        var runs = new List<(Schedule Schedule, PlannedRun Run)>();
        var updates = new List<(long Id, DateTimeOffset? Next, ScheduleStatus Status, string? Remark)>();
        foreach (var schedule in schedules)
        {
            var plan = OccurrencePlanner.Plan(schedule, now, rules);
            runs.AddRange(plan.Runs.Select(r => (schedule, r)));
            updates.Add((schedule.Id, plan.NextRunAt, plan.Status, plan.ScheduleRemark));
        }

        using var spans = new DispatchedRunSpans(runs);
        var created = await InsertRunsAsync(connection, transaction, runs, spans, cancellationToken);
        await UpdateSchedulesAsync(connection, transaction, updates, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        // Missed occurrences recorded SKIPPED (catch-up NONE) have ended here: count them as the worker counts its skips.
        foreach (var skipped in created.Where(c => c.Status == RunStatus.Skipped))
        {
            metrics.RunCompleted(RunStatus.Skipped, schedules.First(s => s.Id == skipped.ScheduleId).Type);
        }

        var toEnqueue = created.Where(c => c.Status == RunStatus.Pending).Select(c => new RunToEnqueue(c.RunId, c.ScheduleId, c.DueAt)).ToList();
        return new DispatchResult(schedules.Count, toEnqueue, created.Count - toEnqueue.Count);
    }

    /// <summary>How long until the earliest active schedule enters the lead window; null when none is active.</summary>
    public async Task<TimeSpan?> TimeUntilNextAsync(TimeSpan lead, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            SELECT min(next_run_at) - now() FROM scheduler.schedules WHERE status = {Sql.Literal(ScheduleStatus.Active)} AND deleted_at IS NULL
            """);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is TimeSpan untilDue ? untilDue - lead : null;
    }

    private static async Task<(List<Schedule> Schedules, DateTimeOffset Now)> ClaimAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, TimeSpan lead, int batchSize, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"""
            SELECT {Columns}, now()
            FROM scheduler.schedules
            WHERE status = {Sql.Literal(ScheduleStatus.Active)} AND deleted_at IS NULL AND next_run_at <= now() + $1
            ORDER BY next_run_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = lead });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batchSize });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var schedules = new List<Schedule>();
        var now = DateTimeOffset.MinValue;
        while (await reader.ReadAsync(cancellationToken))
        {
            schedules.Add(new Schedule
            {
                Id = reader.GetInt64(0),
                Type = WireName.Parse<ScheduleType>(reader.GetString(1)),
                Status = WireName.Parse<ScheduleStatus>(reader.GetString(2)),
                RunAt = reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3),
                IntervalSeconds = reader.IsDBNull(4) ? null : reader.GetInt32(4),
                StartAt = reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
                EndAt = reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
                CronExpression = reader.IsDBNull(7) ? null : reader.GetString(7),
                TimeZone = reader.IsDBNull(8) ? null : reader.GetString(8),
                NextRunAt = reader.GetFieldValue<DateTimeOffset>(9),
                OverlapPolicy = WireName.Parse<OverlapPolicy>(reader.GetString(10)),
                CatchUpPolicy = WireName.Parse<CatchUpPolicy>(reader.GetString(11)),
                TraceParent = reader.IsDBNull(12) ? null : reader.GetString(12),
            });
            now = reader.GetFieldValue<DateTimeOffset>(13);
        }
        return (schedules, now);
    }

    private async Task<List<(long RunId, long ScheduleId, DateTimeOffset DueAt, RunStatus Status)>> InsertRunsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, List<(Schedule Schedule, PlannedRun Run)> runs, DispatchedRunSpans spans,
        CancellationToken cancellationToken)
    {
        var created = new List<(long, long, DateTimeOffset, RunStatus)>();
        if (runs.Count == 0)
        {
            return created;
        }
        // A run that is SKIPPED is also complete: it has an end time and nothing more happens to it.
        await using var command = new NpgsqlCommand($$"""
            INSERT INTO scheduler.runs (schedule_id, due_at, status, trigger, attempt_count, retry_requested, remarks, completed_at, created_at, updated_at, trace_parent)
            SELECT v.schedule_id, v.due_at, v.status, v.trigger, 0, false,
                   CASE WHEN v.remark IS NULL THEN '{}'::text[] ELSE ARRAY[v.remark] END,
                   CASE WHEN v.status = {{Sql.Literal(RunStatus.Skipped)}} THEN $7 END, $7, $7, v.trace_parent
            FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[]) AS v(schedule_id, due_at, status, trigger, remark, trace_parent)
            ON CONFLICT (schedule_id, due_at) DO NOTHING
            RETURNING id, schedule_id, due_at, status
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = runs.Select(r => r.Schedule.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = runs.Select(r => r.Run.DueAt).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = runs.Select(r => WireName.Of(r.Run.Status)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = runs.Select(r => WireName.Of(r.Run.Trigger)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = runs.Select(r => r.Run.Remark).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = runs.Select(r => spans.TraceParentOf(r.Schedule.Id, r.Run.DueAt)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            created.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2), WireName.Parse<RunStatus>(reader.GetString(3))));
            spans.Created(reader.GetInt64(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2));
        }
        return created;
    }

    private static async Task UpdateSchedulesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, List<(long Id, DateTimeOffset? Next, ScheduleStatus Status, string? Remark)> updates,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            UPDATE scheduler.schedules s
            SET next_run_at = v.next_run_at, status = v.status,
                remarks = CASE WHEN v.remark IS NULL THEN s.remarks ELSE array_append(s.remarks, v.remark) END
            FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[]) AS v(id, next_run_at, status, remark)
            WHERE s.id = v.id
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = updates.Select(u => u.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?[]> { TypedValue = updates.Select(u => u.Next).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = updates.Select(u => WireName.Of(u.Status)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = updates.Select(u => u.Remark).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
