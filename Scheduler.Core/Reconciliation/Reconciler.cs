using System.Globalization;
using System.Text.Json;
using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Scheduler.Core.Hosting;
using Scheduler.Core.Observability;
using Scheduler.Core.Jobs;
using Scheduler.Core.Persistence;
using Scheduler.Core.Scheduling;

namespace Scheduler.Core.Reconciliation;

/// <summary>One thing reconciliation found wrong and put right.</summary>
/// <param name="Kind">What was wrong: never_enqueued, job_finished, retry_lost, not_progressing, lease_expired, completion_unrecorded, next_run_missing, schedule_behind, callback_stuck, continuation_missing.</param>
/// <param name="RunId">The run repaired, if a run.</param>
/// <param name="ScheduleId">The schedule repaired, or the run's schedule.</param>
/// <param name="DeliveryId">The callback delivery repaired, if one.</param>
/// <param name="Remark">What was wrong and what was done, as written on the run or schedule.</param>
public sealed record Repair(string Kind, long? RunId, long? ScheduleId, long? DeliveryId, string Remark);

/// <summary>What one reconciliation pass did.</summary>
public sealed record ReconciliationReport(long? Id, string Trigger, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, bool Skipped, IReadOnlyList<Repair> Repairs)
{
    public int Repaired => Repairs.Count;
}

/// <summary>
/// Finds work that silently failed to progress and repairs it, writing a remark on each run or schedule
/// (seed 004's monitor; seed 000's "process all pending and failed"). Our run state, not Hangfire's,
/// decides what is stuck: a run that should have started and has not is queued again, whatever
/// Hangfire believes about its job. Safe to repeat and to race: one pass at a time (an advisory lock),
/// and a run queued twice is still claimed once. Run by a Hangfire recurring job and by POST /reconcile.
/// </summary>
public sealed class Reconciler(
    NpgsqlDataSource database,
    SessionConnections sessions,
    JobStorage storage,
    RunEnqueuer runs,
    CallbackEnqueuer callbacks,
    FailedRunJobs failedJobs,
    DispatchStore dispatch,
    IServiceScopeFactory scopes,
    IOptions<ReconciliationOptions> options,
    IOptions<SchedulingOptions> scheduling,
    SchedulerMetrics metrics,
    TimeProvider time,
    ILogger<Reconciler> logger)
{
    private const long LockKey = 0x5343_4845_4452_4543; // "SCHEDREC"

    private static readonly HashSet<string> FinishedStates = new(StringComparer.OrdinalIgnoreCase)
    {
        SucceededState.StateName, FailedState.StateName, DeletedState.StateName,
    };

    public async Task<ReconciliationReport> RunAsync(string trigger, CancellationToken cancellationToken)
    {
        var startedAt = time.GetUtcNow();
        // The lock is a session's (held across the reconciliation's transactions): a session of its own, outside
        // the pool, as a pooler in transaction mode would hand it to another client between statements.
        await using var connection = await sessions.OpenAsync(cancellationToken);
        await using (var tryLock = new NpgsqlCommand($"SELECT pg_try_advisory_lock({LockKey})", connection))
        {
            if (await tryLock.ExecuteScalarAsync(cancellationToken) is not true)
            {
                Log.ReconciliationSkipped(logger, trigger);
                return new ReconciliationReport(null, trigger, startedAt, time.GetUtcNow(), true, []);
            }
        }
        try
        {
            var repairs = new List<Repair>();
            var settings = options.Value;
            await RepairRunsAsync(settings, repairs, cancellationToken);
            await RepairSchedulesAsync(settings, repairs, cancellationToken);
            await RepairDeliveriesAsync(settings, repairs, cancellationToken);
            // Not a repair of a run: the Failed page's jobs whose runs moved on leave it.
            await failedJobs.ClearSettledAsync(settings.Limit, cancellationToken);
            await RepairContinuationsAsync(settings, repairs, cancellationToken);
            var report = new ReconciliationReport(null, trigger, startedAt, time.GetUtcNow(), false, repairs);
            var id = await SaveAsync(report, cancellationToken);
            foreach (var kind in repairs.GroupBy(r => r.Kind))
            {
                metrics.Repaired(kind.Key, kind.Count());
            }
            Log.Reconciled(logger, trigger, repairs.Count, string.Join(", ", repairs.GroupBy(r => r.Kind).Select(g => $"{g.Key} {g.Count()}")));
            return report with { Id = id };
        }
        finally
        {
            await using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({LockKey})", connection);
            await unlock.ExecuteScalarAsync(CancellationToken.None);
        }
    }

    private sealed record RunCandidate(long Id, long ScheduleId, DateTimeOffset DueAt, RunStatus Status, string? JobId,
        DateTimeOffset NotBefore, DateTimeOffset? NextAttemptAt, string? LeaseOwner, DateTimeOffset? LeaseExpiresAt, DateTimeOffset Now);

    // When a run's job should have taken it up: its due time or retry; for a WAITING run (a callback target's
    // accepted call, held by no worker) its completion's arrival, else its completion deadline.
    private static readonly string WaitingUntil = $"""
        CASE WHEN status = {Sql.Literal(RunStatus.Waiting)} THEN CASE WHEN completion_status IS NOT NULL THEN updated_at ELSE completion_deadline_at END
             ELSE GREATEST(due_at, COALESCE(next_attempt_at, due_at)) END
        """;

    /// <summary>Runs that should have started or finished and have not.</summary>
    private async Task RepairRunsAsync(ReconciliationOptions settings, List<Repair> repairs, CancellationToken cancellationToken)
    {
        var candidates = new List<RunCandidate>();
        await using (var command = database.CreateCommand($"""
            SELECT id, schedule_id, due_at, status, hangfire_job_id, {WaitingUntil},
                   next_attempt_at, lease_owner, lease_expires_at, now()
            FROM scheduler.runs
            WHERE (status = {Sql.Literal(RunStatus.Pending)} AND GREATEST(due_at, COALESCE(next_attempt_at, due_at)) < now() - $1 AND created_at < now() - $1)
               OR (status = {Sql.Literal(RunStatus.Running)} AND lease_expires_at < now() - $2)
               OR (status = {Sql.Literal(RunStatus.Waiting)} AND {WaitingUntil} < now() - $1)
            ORDER BY due_at
            LIMIT $3
            """))
        {
            command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = settings.Grace });
            command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = settings.LeaseGrace });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = settings.Limit });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                candidates.Add(new RunCandidate(reader.GetInt64(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2),
                    WireName.Parse<RunStatus>(reader.GetString(3)), reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
                    reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8),
                    reader.GetFieldValue<DateTimeOffset>(9)));
            }
        }

        using var hangfire = storage.GetConnection();
        foreach (var run in candidates)
        {
            var (kind, why) = Diagnose(run, hangfire, settings);
            if (kind is null)
            {
                continue;
            }
            var jobId = await runs.RetryAtAsync(new RunToEnqueue(run.Id, run.ScheduleId, run.DueAt), run.NotBefore, cancellationToken);
            var remark = $"Reconciliation: {why}; queued again as job {jobId}.";
            await RunStatements.AddRemarkAsync(database, RemarkedTable.Runs, run.Id, remark, cancellationToken);
            repairs.Add(new Repair(kind, run.Id, run.ScheduleId, null, remark));
        }
    }

    private static (string? Kind, string Why) Diagnose(RunCandidate run, Hangfire.Storage.IStorageConnection hangfire, ReconciliationOptions settings)
    {
        var overdue = Seconds(run.Now - run.NotBefore);
        if (run.Status == RunStatus.Running)
        {
            return ("lease_expired", $"RUNNING under a lease that expired at {run.LeaseExpiresAt:O} (worker {run.LeaseOwner} stopped renewing it)");
        }
        if (run.Status == RunStatus.Waiting)
        {
            // Not lost while its target works (no worker holds it); only when its completion or deadline went unrecorded.
            var jobState = run.JobId is null ? null : hangfire.GetStateData(run.JobId)?.Name;
            return jobState is null || FinishedStates.Contains(jobState) || (run.Now - run.NotBefore) > settings.StuckAfter
                ? ("completion_unrecorded", $"WAITING {overdue} s past its completion or completion deadline with {(run.JobId is null ? "no job" : $"job {run.JobId} {jobState ?? "gone"}")} to record it")
                : (null, "");
        }
        if (run.JobId is null)
        {
            return ("never_enqueued", $"committed but never handed to a worker (no Hangfire job), {overdue} s past its time");
        }
        var state = hangfire.GetStateData(run.JobId)?.Name;
        if (state is null || FinishedStates.Contains(state))
        {
            var what = state is null ? "is gone" : $"ended ({state})";
            return run.NextAttemptAt is not null
                ? ("retry_lost", $"a failed attempt had a retry due at {run.NextAttemptAt:O} but no job to make it (job {run.JobId} {what})")
                : ("job_finished", $"still PENDING {overdue} s past its time although its job {run.JobId} {what}");
        }
        // Measured from when the job was created, so a run queued again (by a pass, a retry, a requeue)
        // gets the full StuckAfter before it counts as stuck again: repeated passes do not pile up jobs.
        var created = hangfire.GetJobData(run.JobId)?.CreatedAt;
        var waitingSince = created is { } c && new DateTimeOffset(DateTime.SpecifyKind(c, DateTimeKind.Utc)) > run.NotBefore
            ? new DateTimeOffset(DateTime.SpecifyKind(c, DateTimeKind.Utc))
            : run.NotBefore;
        return run.Now - waitingSince > settings.StuckAfter
            ? ("not_progressing", $"still PENDING {overdue} s past its time while its job {run.JobId} stayed {state} for {Seconds(run.Now - waitingSince)} s")
            : (null, "");
    }

    /// <summary>Active schedules with no next occurrence, or one no dispatcher has taken.</summary>
    private async Task RepairSchedulesAsync(ReconciliationOptions settings, List<Repair> repairs, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SchedulerDbContext>();
        var now = time.GetUtcNow();
        var behindBefore = now - settings.ScheduleBehind;
        var recurring = new[] { ScheduleType.Interval, ScheduleType.Window, ScheduleType.Cron };
        var broken = await db.Schedules
            .Where(s => s.Status == ScheduleStatus.Active && s.DeletedAt == null
                        && ((s.NextRunAt == null && recurring.Contains(s.Type)) || s.NextRunAt < behindBefore))
            .OrderBy(s => s.Id).Take(settings.Limit).ToListAsync(cancellationToken);
        var behind = new List<Schedule>();
        foreach (var schedule in broken)
        {
            if (schedule.NextRunAt is null)
            {
                schedule.NextRunAt = Occurrences.NextAtOrAfter(schedule, now);
                var remark = schedule.NextRunAt is { } next
                    ? $"Reconciliation: the schedule was ACTIVE with no next occurrence; set it to {next:O}."
                    : "Reconciliation: the schedule was ACTIVE with no occurrence left; STOPPED it.";
                schedule.Status = schedule.NextRunAt is null ? ScheduleStatus.Stopped : schedule.Status;
                schedule.Remarks.Add(remark);
                repairs.Add(new Repair("next_run_missing", null, schedule.Id, null, remark));
            }
            else
            {
                behind.Add(schedule);
            }
        }
        await db.SaveChangesAsync(cancellationToken);
        if (behind.Count == 0)
        {
            return;
        }

        // Overdue beyond what a running dispatcher would allow: dispatch here (catch-up policies apply).
        await dispatch.DispatchAllDueAsync(runs, scheduling.Value, null, cancellationToken);
        foreach (var schedule in behind)
        {
            var remark = $"Reconciliation: the next occurrence ({schedule.NextRunAt:O}) was {Seconds(now - schedule.NextRunAt!.Value)} s overdue with no dispatcher taking it; dispatched it (catch-up {WireName.Of(schedule.CatchUpPolicy)}).";
            await RunStatements.AddRemarkAsync(database, RemarkedTable.Schedules, schedule.Id, remark, cancellationToken);
            repairs.Add(new Repair("schedule_behind", null, schedule.Id, null, remark));
        }
    }

    /// <summary>Callback deliveries that should have been attempted and were not.</summary>
    private async Task RepairDeliveriesAsync(ReconciliationOptions settings, List<Repair> repairs, CancellationToken cancellationToken)
    {
        var candidates = new List<(long Id, long RunId, long ScheduleId, string? JobId, TimeSpan Overdue)>();
        await using (var command = database.CreateCommand($"""
            SELECT id, run_id, schedule_id, hangfire_job_id, now() - COALESCE(next_attempt_at, created_at)
            FROM scheduler.callback_deliveries
            WHERE status = {Sql.Literal(DeliveryStatus.Pending)} AND COALESCE(next_attempt_at, created_at) < now() - $1
            ORDER BY id
            LIMIT $2
            """))
        {
            command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = settings.Grace });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = settings.Limit });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                candidates.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetFieldValue<TimeSpan>(4)));
            }
        }
        using var hangfire = storage.GetConnection();
        foreach (var delivery in candidates)
        {
            var state = delivery.JobId is null ? null : hangfire.GetStateData(delivery.JobId)?.Name;
            var lost = state is null || FinishedStates.Contains(state);
            if (!lost && delivery.Overdue <= settings.StuckAfter)
            {
                continue;
            }
            await callbacks.EnqueueAsync(delivery.Id, cancellationToken);
            var remark = $"Reconciliation: callback delivery {delivery.Id} was {Seconds(delivery.Overdue)} s overdue ({(delivery.JobId is null ? "no job" : $"job {delivery.JobId} {state ?? "gone"}")}); queued again.";
            await RunStatements.AddRemarkAsync(database, RemarkedTable.Runs, delivery.RunId, remark, cancellationToken);
            repairs.Add(new Repair("callback_stuck", delivery.RunId, delivery.ScheduleId, delivery.Id, remark));
        }
    }

    /// <summary>
    /// Finished runs whose continuation run is missing (a finish that did not make it): made now, with a remark,
    /// and handed to Hangfire. The unique (parent_run_id, schedule_id) keeps it one run, whoever makes it.
    /// </summary>
    private async Task RepairContinuationsAsync(ReconciliationOptions settings, List<Repair> repairs, CancellationToken cancellationToken)
    {
        var created = await ContinuationStatements.CreateMissingAsync(database, settings.ContinuationLookBack, settings.Limit, cancellationToken);
        foreach (var run in created)
        {
            var jobId = run.ToEnqueue is { } enqueue ? await runs.RetryAtAsync(enqueue, enqueue.DueAt, cancellationToken) : null;
            var remark = $"Reconciliation: run {run.ParentRunId} had finished without this continuation run; created it{(jobId is null ? "" : $" and queued it as job {jobId}")}.";
            await RunStatements.AddRemarkAsync(database, RemarkedTable.Runs, run.RunId, remark, cancellationToken);
            repairs.Add(new Repair("continuation_missing", run.RunId, run.ScheduleId, null, remark));
        }
    }

    private async Task<long> SaveAsync(ReconciliationReport report, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO scheduler.reconciliations (trigger, started_at, finished_at, repaired, details)
            VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = report.Trigger });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = report.StartedAt });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = report.FinishedAt });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = report.Repaired });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = JsonSerializer.Serialize(report.Repairs.Select(r => new { kind = r.Kind, run_id = r.RunId, schedule_id = r.ScheduleId, delivery_id = r.DeliveryId, remark = r.Remark })) });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0", CultureInfo.InvariantCulture);
}
