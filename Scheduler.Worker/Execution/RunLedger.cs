using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using Scheduler.Core.Hosting;
using Scheduler.Core.Model;
using Scheduler.Core.Persistence;
using Scheduler.Core.Security;

namespace Scheduler.Worker.Execution;

/// <summary>
/// The worker's reads and writes of a run, each a single statement (one round trip, one commit): load the
/// plan, claim the run under a lease, renew the lease, record the outcome, hand the run back. The frequent
/// three (load, claim, record) of runs going on at once share round trips and commits
/// (<see cref="StatementBatcher"/>): a batch job's fifty runs load in one query and claim in one commit.
/// Lease decisions use the database's clock, so workers on different machines agree.
/// </summary>
internal sealed class RunLedger
{
    private static readonly string Running = WireName.Of(RunStatus.Running);
    private static readonly string Pending = WireName.Of(RunStatus.Pending);

    private readonly NpgsqlDataSource database;
    private readonly IOptions<ExecutionOptions> options;
    private readonly SecretProtector secrets;
    private readonly WriteBatcher<(long RunId, TaskCompletionSource<RunPlan?> Plan)> _loads;
    private readonly StatementBatcher _statements;

    public RunLedger(NpgsqlDataSource database, IOptions<ExecutionOptions> options, SecretProtector secrets)
    {
        (this.database, this.options, this.secrets) = (database, options, secrets);
        _loads = new WriteBatcher<(long, TaskCompletionSource<RunPlan?>)>(LoadManyAsync, maxWeight: 200);
        _statements = new StatementBatcher(database);
    }

    private TimeSpan Lease => TimeSpan.FromSeconds(options.Value.LeaseSeconds);

    /// <summary>The run and everything its call needs; null when there is no such run.</summary>
    public Task<RunPlan?> LoadAsync(long runId, CancellationToken cancellationToken)
    {
        var plan = new TaskCompletionSource<RunPlan?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _loads.Post((runId, plan));
        return plan.Task.WaitAsync(cancellationToken);
    }

    private async Task LoadManyAsync(IReadOnlyList<(long RunId, TaskCompletionSource<RunPlan?> Plan)> requests)
    {
        var plans = new Dictionary<long, RunPlan>();
        try
        {
            await using var command = database.CreateCommand("""
                SELECT r.id, r.schedule_id, r.due_at, r.status, s.schedule_type, s.expected_http_status, s.no_response,
                       s.job_name, t.url, t.method, t.headers, t.body_template, t.timeout_seconds, s.overlap_policy,
                       (SELECT count(*)::int FROM scheduler.runs e
                        WHERE e.schedule_id = r.schedule_id AND e.id <> r.id AND e.status IN ('PENDING', 'RUNNING') AND e.due_at < r.due_at),
                       r.attempt_count, r.next_attempt_at, s.max_delay_seconds, s.max_attempts, s.retry_initial_interval_seconds,
                       s.retry_max_interval_seconds, r.retry_requested, s.job_args::text, t.signing_secret, s.callback_url, s.error_callback_url
                FROM scheduler.runs r
                JOIN scheduler.schedules s ON s.id = r.schedule_id
                LEFT JOIN scheduler.targets t ON t.id = s.target_id
                WHERE r.id = ANY ($1)
                """);
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = requests.Select(r => r.RunId).Distinct().ToArray() });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var plan = ReadPlan(reader);
                plans[plan.RunId] = plan;
            }
        }
        catch (Exception ex)
        {
            foreach (var (_, plan) in requests)
            {
                plan.TrySetException(ex);
            }
            return;
        }
        foreach (var (runId, plan) in requests)
        {
            plan.TrySetResult(plans.GetValueOrDefault(runId));
        }
    }

    private RunPlan ReadPlan(NpgsqlDataReader reader)
    {
        var hasTarget = !reader.IsDBNull(8);
        return new RunPlan(
            RunId: reader.GetInt64(0),
            ScheduleId: reader.GetInt64(1),
            DueAt: reader.GetFieldValue<DateTimeOffset>(2),
            Status: WireName.Parse<RunStatus>(reader.GetString(3)),
            ScheduleType: WireName.Parse<ScheduleType>(reader.GetString(4)),
            OverlapPolicy: WireName.Parse<OverlapPolicy>(reader.GetString(13)),
            ExpectedHttpStatus: reader.GetFieldValue<int[]>(5),
            NoResponse: reader.GetBoolean(6),
            JobName: reader.IsDBNull(7) ? null : reader.GetString(7),
            Url: hasTarget ? reader.GetString(8) : null,
            Method: hasTarget ? reader.GetString(9) : "GET",
            // Secrets are decrypted here, for the call, and nowhere else.
            Headers: hasTarget ? secrets.UnprotectHeaders(JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(10)) ?? []) : new Dictionary<string, string>(),
            Body: reader.IsDBNull(11) ? null : reader.GetString(11),
            TimeoutSeconds: hasTarget ? reader.GetInt32(12) : options.Value.DefaultTimeoutSeconds,
            EarlierRunsActive: reader.GetInt32(14))
        {
            AttemptCount = reader.GetInt32(15),
            NextAttemptAt = reader.IsDBNull(16) ? null : reader.GetFieldValue<DateTimeOffset>(16),
            MaxDelaySeconds = reader.IsDBNull(17) ? null : reader.GetInt32(17),
            MaxAttempts = reader.IsDBNull(18) ? null : reader.GetInt32(18),
            RetryInitialIntervalSeconds = reader.IsDBNull(19) ? null : reader.GetInt32(19),
            RetryMaxIntervalSeconds = reader.IsDBNull(20) ? null : reader.GetInt32(20),
            RetryRequested = reader.GetBoolean(21),
            JobArgs = reader.IsDBNull(22) ? null : reader.GetString(22),
            SigningSecret = reader.IsDBNull(23) ? null : secrets.Unprotect(reader.GetString(23)),
            CallbackUrl = reader.IsDBNull(24) ? null : reader.GetString(24),
            ErrorCallbackUrl = reader.IsDBNull(25) ? null : reader.GetString(25),
        };
    }

    /// <summary>
    /// Takes the run if it is PENDING, or RUNNING under an expired lease (its worker died). Marks the lost
    /// attempts of a dead worker, starts a new attempt and returns it; null when someone else holds the run
    /// or it has ended.
    /// </summary>
    public async Task<RunClaim?> ClaimAsync(long runId, string worker, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var claim = await _statements.ExecuteAsync(() => Command(ClaimSql, runId, worker, Lease, now), runId,
            reader => new RunClaim(runId, reader.GetInt64(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetBoolean(3)));
        if (claim?.LostAttempts is not null)
        {
            await AddRemarkAsync(runId,
                $"Recovered: {claim.LostAttempts} was lost when its worker stopped renewing the lease; {worker} re-executed the run as attempt {claim.AttemptNumber}.",
                cancellationToken);
        }
        return claim;
    }

    private static readonly string ClaimSql = $"""
            WITH before AS (
                SELECT id, retry_requested FROM scheduler.runs WHERE id = $1
            ), claimed AS (
                UPDATE scheduler.runs r
                SET status = '{Running}', lease_owner = $2, lease_expires_at = now() + $3, retry_requested = false,
                    attempt_count = attempt_count + 1, started_at = COALESCE(started_at, $4), updated_at = now()
                FROM before
                WHERE r.id = before.id
                  AND (r.status = '{Pending}' OR (r.status = '{Running}' AND (r.lease_expires_at IS NULL OR r.lease_expires_at < now())))
                RETURNING r.id, r.schedule_id, r.attempt_count, before.retry_requested
            ), lost AS (
                UPDATE scheduler.attempts a
                SET status = '{WireName.Of(AttemptStatus.Lost)}', completed_at = now(), error_type = '{WireName.Of(ErrorType.WorkerLost)}',
                    error_message = 'Its worker stopped renewing the lease (killed, hung or cut off); ' || $2 || ' took the run over.'
                FROM claimed
                WHERE a.run_id = claimed.id AND a.status = '{WireName.Of(AttemptStatus.Running)}'
                RETURNING a.attempt_number, a.worker
            ), attempt AS (
                INSERT INTO scheduler.attempts (run_id, schedule_id, attempt_number, status, manual, worker, started_at)
                SELECT id, schedule_id, attempt_count, '{WireName.Of(AttemptStatus.Running)}', retry_requested, $2, $4 FROM claimed
                RETURNING id, attempt_number, manual
            )
            SELECT attempt.id, attempt.attempt_number,
                   (SELECT string_agg('attempt ' || attempt_number || ' by ' || COALESCE(worker, 'an unknown worker'), ', ') FROM lost),
                   attempt.manual
            FROM attempt
            """;

    /// <summary>The earlier runs of the same schedule that have not ended, and the latest of them.</summary>
    public async Task<(int Count, long? LatestRunId)> EarlierRunsActiveAsync(RunPlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        await using var command = database.CreateCommand($"""
            SELECT count(*)::int, max(id) FROM scheduler.runs
            WHERE schedule_id = $1 AND id <> $2 AND status IN ('{Pending}', '{Running}') AND due_at < $3
            """);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = plan.ScheduleId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = plan.RunId });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = plan.DueAt });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetInt64(1));
    }

    /// <summary>Overlap at the due time: the claimed run is recorded SKIPPED with the reason, without a call.</summary>
    public async Task SkipAsync(RunClaim claim, string worker, string remark, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Command("DELETE FROM scheduler.attempts WHERE id = $1", claim.AttemptId));
        batch.BatchCommands.Add(Command($"""
            UPDATE scheduler.runs
            SET status = '{WireName.Of(RunStatus.Skipped)}', lease_owner = NULL, lease_expires_at = NULL,
                attempt_count = attempt_count - 1, started_at = CASE WHEN attempt_count = 1 THEN NULL ELSE started_at END,
                completed_at = $3, remarks = array_append(remarks, $4), updated_at = now()
            WHERE id = $1 AND lease_owner = $2
            """, claim.RunId, worker, now, remark));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Shutdown before the call began: the attempt never happened, so it is removed and the run is PENDING
    /// again, as if this worker had never taken it.
    /// </summary>
    public async Task ReleaseUnstartedAsync(RunClaim claim, string worker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Command("DELETE FROM scheduler.attempts WHERE id = $1", claim.AttemptId));
        batch.BatchCommands.Add(Command($"""
            UPDATE scheduler.runs
            SET status = '{Pending}', lease_owner = NULL, lease_expires_at = NULL, attempt_count = attempt_count - 1,
                started_at = CASE WHEN attempt_count = 1 THEN NULL ELSE started_at END, updated_at = now()
            WHERE id = $1 AND lease_owner = $2
            """, claim.RunId, worker));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<LeaseState?> ReadLeaseAsync(long runId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT status, lease_owner, lease_expires_at, now() FROM scheduler.runs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new LeaseState(
            WireName.Parse<RunStatus>(reader.GetString(0)),
            reader.IsDBNull(1) ? null : reader.GetString(1),
            reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
            reader.GetFieldValue<DateTimeOffset>(3));
    }

    /// <summary>Extends the lease; false when the run is no longer this worker's.</summary>
    public async Task<bool> RenewLeaseAsync(long runId, string worker, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            UPDATE scheduler.runs SET lease_expires_at = now() + $3
            WHERE id = $1 AND lease_owner = $2 AND status = '{Running}'
            """);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = Lease });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Records the attempt and, if this worker still holds the run, its consequence, in one transaction:
    /// with <paramref name="retryAt"/> the run is PENDING again until then; without, the run ends with the
    /// outcome, the schedule notes its last run, and a callback delivery is created when
    /// <paramref name="callback"/> is given. Returns whether the run was still this worker's, and the
    /// delivery created.
    /// </summary>
    public async Task<(bool Recorded, long? DeliveryId)> FinishAsync(
        RunClaim claim, long scheduleId, string worker, DateTimeOffset dueAt, CallOutcome outcome, DateTimeOffset? retryAt,
        (string Url, DeliveryKind Kind)? callback, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(outcome);
        var final = retryAt is null;
        var result = await _statements.ExecuteAsync(
            () => Command(FinishSql,
                claim.RunId, worker, WireName.Of(final ? outcome.Status : RunStatus.Pending), final ? outcome.CompletedAt : null,
                outcome.LatencyMs, outcome.StatusCode, outcome.ResponseSizeBytes, outcome.ResponseExcerpt, Wire(outcome.ErrorType),
                outcome.ErrorMessage, outcome.StackTrace, outcome.StartedAt, Math.Max(0, (outcome.StartedAt - dueAt).TotalMilliseconds),
                retryAt, callback?.Url, callback is { } c ? WireName.Of(c.Kind) : null, final,
                claim.AttemptId, WireName.Of(outcome.AttemptStatus), outcome.CompletedAt),
            scheduleId,
            reader => new FinishRow(reader.GetInt64(0) == 1, reader.IsDBNull(1) ? null : reader.GetInt64(1)));
        return result is null ? (false, null) : (result.Recorded, result.DeliveryId);
    }

    private sealed record FinishRow(bool Recorded, long? DeliveryId);

    // One statement: the attempt, the run (only while this worker holds it), the schedule's last run, the callback delivery.
    private static readonly string FinishSql = $"""
        WITH attempt AS (
            UPDATE scheduler.attempts
            SET status = $19, started_at = $12, completed_at = $20, status_code = $6, latency_ms = $5,
                response_size_bytes = $7, error_type = $9, error_message = $10
            WHERE id = $18
        ), finished AS (
            UPDATE scheduler.runs
            SET status = $3, completed_at = $4, latency_ms = $5, status_code = $6, response_size_bytes = $7,
                response_excerpt = $8, error_type = $9, error_message = $10, stack_trace = $11,
                started_at = CASE WHEN lateness_ms IS NULL THEN $12 ELSE started_at END,
                lateness_ms = COALESCE(lateness_ms, $13), next_attempt_at = $14,
                callback_status = CASE WHEN $15::text IS NULL THEN callback_status ELSE '{WireName.Of(DeliveryStatus.Pending)}' END,
                lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
            WHERE id = $1 AND lease_owner = $2
            RETURNING id, schedule_id
        ), schedule AS (
            UPDATE scheduler.schedules s
            SET last_run_at = $12,
                -- A one-shot schedule is complete when its own run ends (not a manual extra run).
                status = CASE WHEN $17 AND s.schedule_type IN ('{WireName.Of(ScheduleType.Immediate)}', '{WireName.Of(ScheduleType.Once)}')
                                   AND s.status = '{WireName.Of(ScheduleStatus.Active)}' AND s.next_run_at IS NULL
                              THEN '{WireName.Of(ScheduleStatus.Completed)}' ELSE s.status END
            FROM finished
            WHERE s.id = finished.schedule_id
        ), delivery AS (
            INSERT INTO scheduler.callback_deliveries (run_id, schedule_id, kind, url, status, attempt_count, created_at, updated_at)
            SELECT id, schedule_id, $16, $15, '{WireName.Of(DeliveryStatus.Pending)}', 0, now(), now()
            FROM finished WHERE $15::text IS NOT NULL
            RETURNING id
        )
        SELECT (SELECT count(*) FROM finished), (SELECT id FROM delivery)
        """;

    /// <summary>A PENDING run that may no longer start (max_delay_seconds): SKIPPED with the reason, without a call.</summary>
    public async Task<bool> SkipPendingAsync(long runId, string remark, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            UPDATE scheduler.runs
            SET status = '{WireName.Of(RunStatus.Skipped)}', completed_at = $2, remarks = array_append(remarks, $3), updated_at = now()
            WHERE id = $1 AND status = '{Pending}'
            """);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = remark });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>A finished run asked to run again by hand (a requeue in the dashboard): PENDING, next attempt manual.</summary>
    public async Task<bool> ReopenAsync(long runId, string remark, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"""
            UPDATE scheduler.runs
            SET status = '{Pending}', retry_requested = true, next_attempt_at = NULL, remarks = array_append(remarks, $2), updated_at = now()
            WHERE id = $1 AND status NOT IN ('{Pending}', '{Running}')
            """);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = remark });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Shutdown mid-call: the attempt is marked INTERRUPTED and the run goes back to PENDING at once, so the
    /// next worker to fetch its Hangfire job takes it without waiting for the lease to expire.
    /// </summary>
    public async Task HandBackAsync(RunClaim claim, string worker, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Command($"""
            UPDATE scheduler.attempts SET status = '{WireName.Of(AttemptStatus.Interrupted)}', completed_at = $2,
                error_message = 'The worker shut down before the call ended; the run was handed back.'
            WHERE id = $1
            """, claim.AttemptId, now));
        batch.BatchCommands.Add(Command($"""
            UPDATE scheduler.runs SET status = '{Pending}', lease_owner = NULL, lease_expires_at = NULL,
                remarks = array_append(remarks, $3), updated_at = now()
            WHERE id = $1 AND lease_owner = $2
            """, claim.RunId, worker,
            $"Attempt {claim.AttemptNumber} was interrupted: {worker} shut down mid-call and handed the run back."));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task AddRemarkAsync(long runId, string remark, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("UPDATE scheduler.runs SET remarks = array_append(remarks, $2) WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = remark });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string? Wire(ErrorType? errorType) => errorType is { } value ? WireName.Of(value) : null;

    private static NpgsqlBatchCommand Command(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }
        return command;
    }
}
