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
/// three (load, claim, record) of the runs going on at once are set-based statements over arrays
/// (<see cref="StatementBatcher{TRequest, TRow}"/>): a batch job's runs load in one query, claim in one
/// statement and record in one, each a single commit.
/// Lease decisions use the database's clock, so workers on different machines agree.
/// </summary>
internal sealed class RunLedger
{
    private static readonly string Running = WireName.Of(RunStatus.Running);
    private static readonly string Pending = WireName.Of(RunStatus.Pending);

    private readonly NpgsqlDataSource database;
    private readonly IOptions<ExecutionOptions> options;
    private readonly SecretProtector secrets;
    private readonly StatementBatcher<long, RunPlan> _loads;
    private readonly StatementBatcher<ClaimRequest, RunClaim> _claims;
    private readonly StatementBatcher<FinishRequest, FinishRow> _finishes;

    public RunLedger(NpgsqlDataSource database, IOptions<ExecutionOptions> options, SecretProtector secrets)
    {
        (this.database, this.options, this.secrets) = (database, options, secrets);
        _loads = new StatementBatcher<long, RunPlan>(LoadManyAsync, runId => runId);
        _claims = new StatementBatcher<ClaimRequest, RunClaim>(ClaimManyAsync, claim => claim.RunId, exclusive: true);
        _finishes = new StatementBatcher<FinishRequest, FinishRow>(FinishManyAsync, finish => finish.Claim.RunId, exclusive: true);
    }

    private TimeSpan Lease => TimeSpan.FromSeconds(options.Value.LeaseSeconds);

    /// <summary>The run and everything its call needs; null when there is no such run.</summary>
    public Task<RunPlan?> LoadAsync(long runId, CancellationToken cancellationToken) => _loads.ExecuteAsync(runId).WaitAsync(cancellationToken);

    private async Task<IReadOnlyDictionary<long, RunPlan>> LoadManyAsync(IReadOnlyList<long> runIds)
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
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = runIds.Distinct().ToArray() });
        var plans = new Dictionary<long, RunPlan>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var plan = ReadPlan(reader);
            plans[plan.RunId] = plan;
        }
        return plans;
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
    public async Task<RunClaim?> ClaimAsync(long runId, string worker, DateTimeOffset now, string? jobId, CancellationToken cancellationToken)
    {
        var claim = await _claims.ExecuteAsync(new ClaimRequest(runId, worker, now, jobId));
        if (claim?.LostAttempts is not null)
        {
            await AddRemarkAsync(runId,
                $"Recovered: {claim.LostAttempts} was lost when its worker stopped renewing the lease; {worker} re-executed the run as attempt {claim.AttemptNumber}.",
                cancellationToken);
        }
        return claim;
    }

    private sealed record ClaimRequest(long RunId, string Worker, DateTimeOffset StartedAt, string? JobId);

    private async Task<IReadOnlyDictionary<long, RunClaim>> ClaimManyAsync(IReadOnlyList<ClaimRequest> requests)
    {
        var claims = new Dictionary<long, RunClaim>();
        // One process has one worker name; claims of different names (tests) go in their own statements.
        foreach (var byWorker in requests.GroupBy(r => r.Worker))
        {
            await using var command = database.CreateCommand(ClaimSql);
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = byWorker.Select(r => r.RunId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = byWorker.Select(r => r.StartedAt).ToArray() });
            command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = byWorker.Select(r => r.JobId).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = byWorker.Key });
            command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = Lease });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var runId = reader.GetInt64(0);
                claims[runId] = new RunClaim(runId, reader.GetInt64(1), reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetBoolean(4));
            }
        }
        return claims;
    }

    // Takes each run that is PENDING, or RUNNING under an expired lease (its worker died): the lost attempts of a
    // dead worker are marked, a new attempt starts. ("before" is the row as it was: the update clears retry_requested.)
    // The runs are locked by primary key and their state is tested on the locked rows, never in the update's own
    // WHERE: there the planner may look runs up by status, and with statistics taken before a burst (no PENDING
    // runs) it chose a bitmap over every active run's index entries, dead ones included: 6-14 ms a claim.
    private static readonly string ClaimSql = $"""
        WITH input AS (
            SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[]) AS i(run_id, started_at, job_id)
        ), before AS MATERIALIZED (
            SELECT r.id, r.status, r.lease_expires_at, r.retry_requested FROM scheduler.runs r
            WHERE r.id = ANY ($1)
            ORDER BY r.id
            FOR UPDATE
        ), claimed AS (
            UPDATE scheduler.runs r
            SET status = '{Running}', lease_owner = $4, lease_expires_at = now() + $5, retry_requested = false,
                attempt_count = r.attempt_count + 1, started_at = COALESCE(r.started_at, i.started_at), updated_at = now(),
                hangfire_job_id = COALESCE(i.job_id, r.hangfire_job_id)
            FROM before b JOIN input i ON i.run_id = b.id
            WHERE r.id = b.id
              AND (b.status = '{Pending}' OR (b.status = '{Running}' AND (b.lease_expires_at IS NULL OR b.lease_expires_at < now())))
            RETURNING r.id, r.schedule_id, r.attempt_count, b.retry_requested, i.started_at
        ), lost AS (
            UPDATE scheduler.attempts a
            SET status = '{WireName.Of(AttemptStatus.Lost)}', completed_at = now(), error_type = '{WireName.Of(ErrorType.WorkerLost)}',
                error_message = 'Its worker stopped renewing the lease (killed, hung or cut off); ' || $4 || ' took the run over.'
            FROM claimed
            WHERE a.run_id = claimed.id AND a.status = '{WireName.Of(AttemptStatus.Running)}'
            RETURNING a.run_id, a.attempt_number, a.worker
        ), attempt AS (
            INSERT INTO scheduler.attempts (run_id, schedule_id, attempt_number, status, manual, worker, started_at)
            SELECT id, schedule_id, attempt_count, '{WireName.Of(AttemptStatus.Running)}', retry_requested, $4, started_at FROM claimed
            RETURNING run_id, id, attempt_number, manual
        )
        SELECT attempt.run_id, attempt.id, attempt.attempt_number,
               (SELECT string_agg('attempt ' || l.attempt_number || ' by ' || COALESCE(l.worker, 'an unknown worker'), ', ')
                FROM lost l WHERE l.run_id = attempt.run_id),
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
        var row = await _finishes.ExecuteAsync(new FinishRequest(claim, scheduleId, worker, dueAt, outcome, retryAt, callback));
        return row is null ? (false, null) : (row.Recorded, row.DeliveryId);
    }

    private sealed record FinishRequest(RunClaim Claim, long ScheduleId, string Worker, DateTimeOffset DueAt, CallOutcome Outcome, DateTimeOffset? RetryAt,
        (string Url, DeliveryKind Kind)? Callback)
    {
        public bool Final => RetryAt is null;
    }

    private sealed record FinishRow(bool Recorded, long? DeliveryId);

    private async Task<IReadOnlyDictionary<long, FinishRow>> FinishManyAsync(IReadOnlyList<FinishRequest> requests)
    {
        var rows = new Dictionary<long, FinishRow>();
        foreach (var byWorker in requests.GroupBy(r => r.Worker))
        {
            var list = byWorker.OrderBy(r => r.ScheduleId).ToList();
            await using var command = database.CreateCommand(FinishSql);
            void Add<T>(Func<FinishRequest, T> value, NpgsqlTypes.NpgsqlDbType type) =>
                command.Parameters.Add(new NpgsqlParameter<T[]> { TypedValue = list.Select(value).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | type });
            Add(r => r.Claim.RunId, NpgsqlTypes.NpgsqlDbType.Bigint);
            Add(r => r.Claim.AttemptId, NpgsqlTypes.NpgsqlDbType.Bigint);
            Add(r => WireName.Of(r.Final ? r.Outcome.Status : RunStatus.Pending), NpgsqlTypes.NpgsqlDbType.Text);
            Add(r => r.Final ? r.Outcome.CompletedAt : (DateTimeOffset?)null, NpgsqlTypes.NpgsqlDbType.TimestampTz);
            Add(r => r.Outcome.LatencyMs, NpgsqlTypes.NpgsqlDbType.Double);
            Add(r => r.Outcome.StatusCode, NpgsqlTypes.NpgsqlDbType.Integer);
            Add(r => r.Outcome.ResponseSizeBytes, NpgsqlTypes.NpgsqlDbType.Bigint);
            Add(r => r.Outcome.ResponseExcerpt, NpgsqlTypes.NpgsqlDbType.Text);
            Add(r => Wire(r.Outcome.ErrorType), NpgsqlTypes.NpgsqlDbType.Text);
            Add(r => r.Outcome.ErrorMessage, NpgsqlTypes.NpgsqlDbType.Text);
            // stack_trace: no longer written (a named job's trace stays in the worker's log); older rows keep theirs.
            Add<string?>(_ => null, NpgsqlTypes.NpgsqlDbType.Text);
            Add(r => r.Outcome.StartedAt, NpgsqlTypes.NpgsqlDbType.TimestampTz);
            Add(r => Math.Max(0, (r.Outcome.StartedAt - r.DueAt).TotalMilliseconds), NpgsqlTypes.NpgsqlDbType.Double);
            Add(r => r.RetryAt, NpgsqlTypes.NpgsqlDbType.TimestampTz);
            Add(r => r.Callback?.Url, NpgsqlTypes.NpgsqlDbType.Text);
            Add(r => r.Callback is { } c ? WireName.Of(c.Kind) : null, NpgsqlTypes.NpgsqlDbType.Text);
            Add(r => r.Final, NpgsqlTypes.NpgsqlDbType.Boolean);
            Add(r => WireName.Of(r.Outcome.AttemptStatus), NpgsqlTypes.NpgsqlDbType.Text);
            Add(r => r.Outcome.CompletedAt, NpgsqlTypes.NpgsqlDbType.TimestampTz);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = byWorker.Key });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows[reader.GetInt64(0)] = new FinishRow(reader.GetBoolean(1), reader.IsDBNull(2) ? null : reader.GetInt64(2));
            }
        }
        return rows;
    }

    // One statement for many runs: the attempts, the runs (only those this worker still holds), their schedules'
    // last run (and COMPLETED for a one-shot schedule whose own run ended), the callback deliveries.
    private static readonly string FinishSql = $"""
        WITH input AS (
            SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[], $5::float8[], $6::int[], $7::bigint[],
                                 $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::float8[], $14::timestamptz[],
                                 $15::text[], $16::text[], $17::bool[], $18::text[], $19::timestamptz[])
                AS i(run_id, attempt_id, status, completed_at, latency_ms, status_code, response_size_bytes, response_excerpt,
                     error_type, error_message, stack_trace, started_at, lateness_ms, next_attempt_at, callback_url, callback_kind,
                     final, attempt_status, attempt_completed_at)
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
                callback_status = CASE WHEN i.callback_url IS NULL THEN r.callback_status ELSE '{WireName.Of(DeliveryStatus.Pending)}' END,
                lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
            FROM input i
            WHERE r.id = i.run_id AND r.lease_owner = $20
            RETURNING r.id, r.schedule_id, i.started_at, i.final, i.callback_url, i.callback_kind
        ), schedule AS (
            UPDATE scheduler.schedules s
            SET last_run_at = f.last_run_at,
                -- A one-shot schedule is complete when its own run ends (not a manual extra run).
                status = CASE WHEN f.final AND s.schedule_type IN ('{WireName.Of(ScheduleType.Immediate)}', '{WireName.Of(ScheduleType.Once)}')
                                   AND s.status = '{WireName.Of(ScheduleStatus.Active)}' AND s.next_run_at IS NULL
                              THEN '{WireName.Of(ScheduleStatus.Completed)}' ELSE s.status END
            FROM (SELECT schedule_id, max(started_at) AS last_run_at, bool_or(final) AS final FROM finished GROUP BY schedule_id) f
            WHERE s.id = f.schedule_id
        ), delivery AS (
            INSERT INTO scheduler.callback_deliveries (run_id, schedule_id, kind, url, status, attempt_count, created_at, updated_at)
            SELECT id, schedule_id, callback_kind, callback_url, '{WireName.Of(DeliveryStatus.Pending)}', 0, now(), now()
            FROM finished WHERE callback_url IS NOT NULL
            RETURNING id, run_id
        )
        SELECT i.run_id, f.id IS NOT NULL, d.id
        FROM input i LEFT JOIN finished f ON f.id = i.run_id LEFT JOIN delivery d ON d.run_id = i.run_id
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
