namespace Scheduler.Worker.Runs.Store;

/// <summary>
/// The state of the targets' limits, shared by every worker in PostgreSQL: a rate limit's next free turn
/// (<c>scheduler.limit_rates</c>, taken with one atomic upsert) and the concurrency slots held by calls
/// (<c>scheduler.limit_slots</c>, counted only while the holding run's lease is live, so a dead worker's slot
/// frees itself when its lease expires and a finished run's at once). Only runs with a limit come here.
/// </summary>
internal sealed class TargetLimitStatements(NpgsqlDataSource database)
{
    // A turn is the larger of the next free turn and the database's clock; the next free turn moves one interval
    // on. ON CONFLICT DO UPDATE works on the row's latest version, so concurrent takers queue one interval apart.
    // A turn at or after the deadline (max_delay_seconds) is not taken: then the next free turn is reported.
    private const string TakeTurnSql = """
        WITH taken AS (
            INSERT INTO scheduler.limit_rates AS l (limit_key, next_call_at) VALUES ($1, clock_timestamp() + $2)
            ON CONFLICT (limit_key) DO UPDATE SET next_call_at = greatest(l.next_call_at, clock_timestamp()) + $2
            WHERE greatest(l.next_call_at, clock_timestamp()) < $3
            RETURNING l.next_call_at - $2 AS turn_at
        )
        SELECT true AS taken, turn_at, clock_timestamp() AS database_now FROM taken
        UNION ALL
        SELECT false, greatest(next_call_at, clock_timestamp()), clock_timestamp() FROM scheduler.limit_rates
        WHERE limit_key = $1 AND NOT EXISTS (SELECT 1 FROM taken)
        """;

    /// <summary>
    /// Takes the next turn of the rate limit <paramref name="key"/> if it comes before <paramref name="deadline"/>.
    /// The wait is relative to the database's clock, so workers whose clocks differ still keep the spacing.
    /// </summary>
    public async Task<RateTurn> TakeTurnAsync(string key, TimeSpan interval, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(TakeTurnSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = interval });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = deadline });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var row = new RowReader(reader);
        await row.ReadAsync(cancellationToken);
        return new RateTurn(row.Get<bool>("taken"), row.Get<DateTimeOffset>("turn_at") - row.Get<DateTimeOffset>("database_now"));
    }

    // The slots of one limit are counted and taken under a transaction-scoped advisory lock on the limit, in
    // statements after the lock so that their snapshots see every slot taken before it. The first drops the
    // slots that no longer count (the run ended, was given back, or its worker's lease expired).
    private const string LockSql = "SELECT pg_advisory_xact_lock(1279872340, hashtext($1))";

    private static readonly string DropDeadSlotsSql = $"""
        DELETE FROM scheduler.limit_slots s
        WHERE s.limit_key = $1 AND NOT EXISTS (
            SELECT 1 FROM scheduler.runs r
            WHERE r.id = s.run_id AND r.status = {Sql.Literal(RunStatus.Running)} AND r.lease_owner = s.worker AND r.lease_expires_at > now())
        """;

    // The run's own slot (an earlier attempt of it by the same worker) does not count against it.
    private const string TakeSlotSql = """
        INSERT INTO scheduler.limit_slots (limit_key, run_id, worker, acquired_at)
        SELECT $1, $2, $3, now()
        WHERE (SELECT count(*) FROM scheduler.limit_slots WHERE limit_key = $1 AND run_id <> $2) < $4
        ON CONFLICT (limit_key, run_id) DO UPDATE SET worker = excluded.worker, acquired_at = excluded.acquired_at
        RETURNING run_id
        """;

    /// <summary>
    /// Takes a slot of the concurrency limit <paramref name="key"/> for the run (held until the run ends or its
    /// lease lapses); false when all <paramref name="max"/> are taken.
    /// </summary>
    public async Task<bool> TakeSlotAsync(string key, long runId, string worker, int max, CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Batches.Command(LockSql, key));
        batch.BatchCommands.Add(Batches.Command(DropDeadSlotsSql, key));
        batch.BatchCommands.Add(Batches.Command(TakeSlotSql, key, runId, worker, max));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var taken = false;
        do
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                taken |= reader.GetName(0) == "run_id";
            }
        }
        while (await reader.NextResultAsync(cancellationToken));
        return taken;
    }

    private static readonly string PostponeSql = $"""
        UPDATE scheduler.runs
        SET status = {Sql.Literal(RunStatus.Pending)}, lease_owner = NULL, lease_expires_at = NULL, attempt_count = attempt_count - 1,
            started_at = CASE WHEN attempt_count = 1 THEN NULL ELSE started_at END, retry_requested = $3,
            next_attempt_at = $4, limit_turn_at = $5, limit_wait_since = COALESCE(limit_wait_since, $6), updated_at = now()
        WHERE id = $1 AND lease_owner = $2
        """;

    /// <summary>
    /// The run waits for its limits in Hangfire's scheduled set rather than in a worker: its attempt is removed
    /// and it is PENDING until <paramref name="at"/> (a manual attempt stays manual), keeping the rate limit's
    /// turn it took (if any) and when it began to wait.
    /// </summary>
    public async Task PostponeAsync(RunClaim claim, string worker, DateTimeOffset at, DateTimeOffset? turnAt, DateTimeOffset waitSince, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Batches.Command("DELETE FROM scheduler.attempts WHERE id = $1", claim.AttemptId));
        batch.BatchCommands.Add(Batches.Command(PostponeSql, claim.RunId, worker, claim.Manual, at, turnAt, waitSince));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private static readonly string WaitedSql = $"""
        UPDATE scheduler.runs SET {RunStatements.AppendRemark("$2")}, limit_turn_at = NULL, limit_wait_since = NULL
        WHERE id = $1
        """;

    /// <summary>The run's call begins after waiting for its limits: the remark says how long and why.</summary>
    public async Task RecordWaitAsync(long runId, string remark, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(WaitedSql);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = remark });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>A rate limit's turn: taken or not (it would come too late), and how long until it.</summary>
internal sealed record RateTurn(bool Taken, TimeSpan Wait);
