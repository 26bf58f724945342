using NpgsqlTypes;

namespace Scheduler.Worker.Runs.Store;

/// <summary>
/// Records an attempt and what follows from it, in one transaction: the attempt; the run (only while this
/// worker still holds it), PENDING again for a retry or ended with the outcome; the schedule's last run; the
/// callback delivery. The outcomes of the runs ending at once are one statement
/// (<see cref="StatementBatcher{TRequest, TRow}"/>).
/// </summary>
internal sealed class RunFinishStatement
{
    private readonly NpgsqlDataSource database;
    private readonly StatementBatcher<FinishRequest, FinishRow> _finishes;

    public RunFinishStatement(NpgsqlDataSource database)
    {
        this.database = database;
        _finishes = new StatementBatcher<FinishRequest, FinishRow>(FinishManyAsync, finish => finish.Claim.RunId, exclusive: true);
    }

    /// <summary>
    /// Records the attempt and, if this worker still holds the run, its consequence: with a retry time the
    /// run is PENDING again until then; without, the run ends with the outcome, the schedule notes its last
    /// run, and a callback delivery is created when the consequence names one. Returns whether the run was
    /// still this worker's, the delivery created and the continuation runs created.
    /// </summary>
    public async Task<(bool Recorded, long? DeliveryId, IReadOnlyList<ContinuationRun> Continuations)> FinishAsync(
        RunClaim claim, long scheduleId, string worker, DateTimeOffset dueAt, CallOutcome outcome, AttemptConsequence consequence)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(consequence);
        var row = await _finishes.ExecuteAsync(new FinishRequest(claim, scheduleId, worker, dueAt, outcome, consequence));
        return row is null ? (false, null, []) : (row.Recorded, row.DeliveryId, row.Continuations);
    }

    private sealed record FinishRequest(RunClaim Claim, long ScheduleId, string Worker, DateTimeOffset DueAt, CallOutcome Outcome, AttemptConsequence Consequence)
    {
        public bool Final => Consequence.RetryAt is null;
    }

    private sealed record FinishRow(bool Recorded, long? DeliveryId, IReadOnlyList<ContinuationRun> Continuations);

    private static readonly UnnestInput<FinishRequest> Input = new UnnestInput<FinishRequest>()
        .Column("run_id", "bigint", NpgsqlDbType.Bigint, r => r.Claim.RunId)
        .Column("attempt_id", "bigint", NpgsqlDbType.Bigint, r => r.Claim.AttemptId)
        .Column("status", "text", NpgsqlDbType.Text, r => WireName.Of(r.Final ? r.Outcome.Status : RunStatus.Pending))
        .Column("completed_at", "timestamptz", NpgsqlDbType.TimestampTz, r => r.Final ? r.Outcome.CompletedAt : (DateTimeOffset?)null)
        .Column("latency_ms", "float8", NpgsqlDbType.Double, r => r.Outcome.LatencyMs)
        .Column("status_code", "int", NpgsqlDbType.Integer, r => r.Outcome.StatusCode)
        .Column("response_size_bytes", "bigint", NpgsqlDbType.Bigint, r => r.Outcome.ResponseSizeBytes)
        .Column("response_excerpt", "text", NpgsqlDbType.Text, r => r.Outcome.ResponseExcerpt)
        .Column("error_type", "text", NpgsqlDbType.Text, r => r.Outcome.ErrorType is { } type ? WireName.Of(type) : null)
        .Column("error_message", "text", NpgsqlDbType.Text, r => r.Outcome.ErrorMessage)
        // stack_trace: no longer written (a named job's trace stays in the worker's log); older rows keep theirs.
        .Column<string?>("stack_trace", "text", NpgsqlDbType.Text, _ => null)
        .Column("started_at", "timestamptz", NpgsqlDbType.TimestampTz, r => r.Outcome.StartedAt)
        .Column("lateness_ms", "float8", NpgsqlDbType.Double, r => Math.Max(0, (r.Outcome.StartedAt - r.DueAt).TotalMilliseconds))
        .Column("next_attempt_at", "timestamptz", NpgsqlDbType.TimestampTz, r => r.Consequence.RetryAt)
        .Column("callback_url", "text", NpgsqlDbType.Text, r => r.Consequence.Callback?.Url)
        .Column("callback_kind", "text", NpgsqlDbType.Text, r => r.Consequence.Callback is { } c ? WireName.Of(c.Kind) : null)
        .Column("final", "bool", NpgsqlDbType.Boolean, r => r.Final)
        .Column("attempt_status", "text", NpgsqlDbType.Text, r => WireName.Of(r.Outcome.AttemptStatus))
        .Column("attempt_completed_at", "timestamptz", NpgsqlDbType.TimestampTz, r => r.Outcome.CompletedAt);

    private static readonly string WorkerParameter = Input.After(1);

    private async Task<IReadOnlyDictionary<long, FinishRow>> FinishManyAsync(IReadOnlyList<FinishRequest> requests)
    {
        var rows = new Dictionary<long, FinishRow>();
        foreach (var byWorker in requests.GroupBy(r => r.Worker))
        {
            await using var command = new GenericPlanStatement(database, FinishSql);
            Input.AddParameters(command.Parameters, byWorker.OrderBy(r => r.ScheduleId).ToList());
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = byWorker.Key });
            await using var reader = await command.ExecuteReaderAsync();
            var row = new RowReader(reader);
            while (await row.ReadAsync())
            {
                var runId = row.Get<long>("run_id");
                rows[runId] = new FinishRow(row.Get<bool>("recorded"), row.ValueOrNull<long>("delivery_id"), ReadContinuations(row, runId));
            }
        }
        return rows;
    }

    private static ContinuationRun[] ReadContinuations(RowReader row, long parentRunId)
    {
        if (row.IsNull("continuation_ids"))
        {
            return [];
        }
        var (ids, schedules, dueAts, statuses) = (row.Get<long[]>("continuation_ids"), row.Get<long[]>("continuation_schedule_ids"),
            row.Get<DateTimeOffset[]>("continuation_due_ats"), row.Get<string[]>("continuation_statuses"));
        return ids.Select((id, i) => new ContinuationRun(id, schedules[i], dueAts[i], WireName.Parse<RunStatus>(statuses[i]), parentRunId)).ToArray();
    }

    // One statement for many runs: the attempts, the runs (only those this worker still holds), their schedules'
    // last run (and COMPLETED for a one-shot schedule whose own run ended), the callback deliveries, and the runs
    // of the continuations of the runs that ended (in the same transaction, so a run that is recorded has them).
    private static readonly string FinishSql = $"""
        WITH input AS (
            SELECT * FROM {Input.Sql}
        ), attempt AS (
            UPDATE scheduler.attempts a
            SET status = i.attempt_status, started_at = i.started_at, completed_at = i.attempt_completed_at, status_code = i.status_code,
                latency_ms = i.latency_ms, response_size_bytes = i.response_size_bytes, error_type = i.error_type, error_message = i.error_message
            FROM input i
            WHERE a.id = i.attempt_id
        ), finished AS (
            UPDATE scheduler.runs r
            SET status = i.status, completed_at = i.completed_at, latency_ms = i.latency_ms, status_code = i.status_code,
                response_size_bytes = i.response_size_bytes, response_excerpt = i.response_excerpt, error_type = i.error_type,
                error_message = i.error_message, stack_trace = i.stack_trace,
                started_at = CASE WHEN r.lateness_ms IS NULL THEN i.started_at ELSE r.started_at END,
                lateness_ms = COALESCE(r.lateness_ms, i.lateness_ms), next_attempt_at = i.next_attempt_at,
                callback_status = CASE WHEN i.callback_url IS NULL THEN r.callback_status ELSE {Sql.Literal(DeliveryStatus.Pending)} END,
                lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
            FROM input i
            WHERE r.id = i.run_id AND r.lease_owner = {WorkerParameter}
            RETURNING r.id, r.schedule_id, r.status, i.started_at, i.final, i.callback_url, i.callback_kind
        ), schedule AS (
            UPDATE scheduler.schedules s
            SET last_run_at = f.last_run_at,
                -- A one-shot schedule is complete when its own run ends (not a manual extra run).
                status = CASE WHEN f.final AND s.schedule_type IN ({Sql.Literals(ScheduleType.Immediate, ScheduleType.Once)})
                                   AND s.status = {Sql.Literal(ScheduleStatus.Active)} AND s.next_run_at IS NULL
                              THEN {Sql.Literal(ScheduleStatus.Completed)} ELSE s.status END
            FROM (SELECT schedule_id, max(started_at) AS last_run_at, bool_or(final) AS final FROM finished GROUP BY schedule_id) f
            WHERE s.id = f.schedule_id
        ), delivery AS (
            INSERT INTO scheduler.callback_deliveries (run_id, schedule_id, kind, url, status, attempt_count, created_at, updated_at)
            SELECT id, schedule_id, callback_kind, callback_url, {Sql.Literal(DeliveryStatus.Pending)}, 0, now(), now()
            FROM finished WHERE callback_url IS NOT NULL
            RETURNING id, run_id
        ), continued AS (
            {ContinuationStatements.InsertRunsSql("finished f", "f.final")}
        )
        SELECT i.run_id, f.id IS NOT NULL AS recorded, d.id AS delivery_id,
               k.ids AS continuation_ids, k.schedule_ids AS continuation_schedule_ids, k.due_ats AS continuation_due_ats, k.statuses AS continuation_statuses
        FROM input i LEFT JOIN finished f ON f.id = i.run_id LEFT JOIN delivery d ON d.run_id = i.run_id
        LEFT JOIN (SELECT parent_run_id, array_agg(id) AS ids, array_agg(schedule_id) AS schedule_ids, array_agg(due_at) AS due_ats, array_agg(status::text) AS statuses
                   FROM continued GROUP BY parent_run_id) k ON k.parent_run_id = i.run_id
        """;
}
