using NpgsqlTypes;

namespace Scheduler.Worker.Runs.Store;

/// <summary>A WAITING run as the database sees it when no worker could take it to record its end.</summary>
internal sealed record WaitingState(RunStatus Status, DateTimeOffset? Deadline, bool Completed, DateTimeOffset DatabaseNow);

/// <summary>A WAITING run taken by this worker to record its end: the attempt, and what the target reported (null: the deadline passed).</summary>
internal sealed record TakenWaitingRun(RunClaim Claim, DateTimeOffset StartedAt, int? StatusCode, long? ResponseSizeBytes, string? ResponseExcerpt,
    RunStatus? CompletionStatus, string? CompletionMessage, DateTimeOffset Deadline);

/// <summary>
/// The statements of a <c>"completion": "callback"</c> run (issue #23): the accepted call recorded as WAITING
/// (no lease kept: no worker holds it meanwhile), and a WAITING run taken under a short lease once its target
/// completed it or its deadline passed, so that <see cref="RunFinishStatement"/> records its end as for any
/// attempt. Only runs of such targets reach them, so the statements of other runs are unchanged.
/// </summary>
internal sealed class CompletionStatements(NpgsqlDataSource database, IOptions<ExecutionOptions> options)
{
    // The attempt and the run, only while this worker still holds it; the schedule's last run.
    private static readonly string AcceptSql = $"""
        WITH run AS (
            UPDATE scheduler.runs r
            SET status = {Sql.Literal(RunStatus.Waiting)}, latency_ms = $5, status_code = $6, response_size_bytes = $7, response_excerpt = $8,
                error_type = NULL, error_message = NULL,
                started_at = CASE WHEN r.lateness_ms IS NULL THEN $4 ELSE r.started_at END, lateness_ms = COALESCE(r.lateness_ms, $9),
                next_attempt_at = NULL, completion_deadline_at = now() + make_interval(secs => $10), completion_status = NULL,
                completion_message = NULL, output = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE r.id = $1 AND r.lease_owner = $3
            RETURNING r.id, r.schedule_id, r.completion_deadline_at
        ), attempt AS (
            UPDATE scheduler.attempts a
            SET status = {Sql.Literal(AttemptStatus.Waiting)}, started_at = $4, latency_ms = $5, status_code = $6, response_size_bytes = $7,
                completion_token_hash = $11
            FROM run
            WHERE a.id = $2
        ), schedule AS (
            UPDATE scheduler.schedules s SET last_run_at = $4 FROM run WHERE s.id = run.schedule_id
        )
        SELECT completion_deadline_at FROM run
        """;

    /// <summary>
    /// Records a 2xx from a callback target: the run WAITING until <c>now() + completion_timeout_seconds</c>, the
    /// attempt WAITING with the hash of its token. Returns the deadline; null when the run was no longer this worker's.
    /// </summary>
    public async Task<DateTimeOffset?> AcceptAsync(RunClaim claim, RunPlan plan, string worker, CallOutcome outcome, byte[] tokenHash)
    {
        await using var command = database.CreateCommand(AcceptSql);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = claim.RunId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = claim.AttemptId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = outcome.StartedAt });
        command.Parameters.Add(new NpgsqlParameter<double> { TypedValue = outcome.LatencyMs });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)outcome.StatusCode ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)outcome.ResponseSizeBytes ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)outcome.ResponseExcerpt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<double> { TypedValue = Math.Max(0, (outcome.StartedAt - plan.DueAt).TotalMilliseconds) });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = plan.CompletionTimeoutSeconds });
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = tokenHash });
        return await command.ExecuteScalarAsync() is DateTime deadline ? new DateTimeOffset(deadline, TimeSpan.Zero) : null;
    }

    // Taken only when there is an end to record (a completion, or the deadline passed) and no live worker holds it.
    private static readonly string TakeSql = $"""
        UPDATE scheduler.runs r
        SET lease_owner = $2, lease_expires_at = now() + $3, updated_at = now()
        FROM scheduler.attempts a
        WHERE r.id = $1 AND r.status = {Sql.Literal(RunStatus.Waiting)} AND (r.lease_owner IS NULL OR r.lease_expires_at < now())
          AND (r.completion_status IS NOT NULL OR r.completion_deadline_at <= now())
          AND a.run_id = r.id AND a.attempt_number = r.attempt_count
        RETURNING a.id AS attempt_id, a.attempt_number, a.manual, a.started_at, r.status_code, r.response_size_bytes, r.response_excerpt,
                  r.completion_status, r.completion_message, r.completion_deadline_at
        """;

    /// <summary>Takes a WAITING run whose end can be recorded; null when there is none yet (or another worker has it).</summary>
    public async Task<TakenWaitingRun?> TakeAsync(long runId, string worker, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(TakeSql);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = TimeSpan.FromSeconds(options.Value.LeaseSeconds) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var row = new RowReader(reader);
        if (!await row.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new TakenWaitingRun(
            new RunClaim(runId, row.Get<long>("attempt_id"), row.Get<int>("attempt_number"), null, row.Get<bool>("manual")),
            row.Get<DateTimeOffset>("started_at"),
            row.ValueOrNull<int>("status_code"),
            row.ValueOrNull<long>("response_size_bytes"),
            row.OrNull<string>("response_excerpt"),
            row.OrNull<string>("completion_status") is { } status ? WireName.Parse<RunStatus>(status) : null,
            row.OrNull<string>("completion_message"),
            row.Get<DateTimeOffset>("completion_deadline_at"));
    }

    /// <summary>The run's state when it could not be taken; null when it is gone.</summary>
    public async Task<WaitingState?> ReadAsync(long runId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "SELECT status, completion_deadline_at, completion_status IS NOT NULL AS completed, now() FROM scheduler.runs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var row = new RowReader(reader);
        if (!await row.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new WaitingState(WireName.Parse<RunStatus>(row.Get<string>("status")), row.ValueOrNull<DateTimeOffset>("completion_deadline_at"),
            row.Get<bool>("completed"), row.Get<DateTimeOffset>("now"));
    }
}
