namespace Scheduler.Worker.Runs.Store;

/// <summary>
/// The lease on a claimed run (<see cref="RunClaimStatement"/> takes it): renew it, read it, and give the
/// run back at shutdown, before the call (as if never taken) or during it (the attempt INTERRUPTED).
/// Lease decisions use the database's clock, so workers on different machines agree.
/// </summary>
internal sealed class RunLeaseStatements(NpgsqlDataSource database, IOptions<ExecutionOptions> options)
{
    private static readonly string RenewSql = $"""
        UPDATE scheduler.runs SET lease_expires_at = now() + $3
        WHERE id = $1 AND lease_owner = $2 AND status = {Sql.Literal(RunStatus.Running)}
        """;

    /// <summary>Extends the lease; false when the run is no longer this worker's.</summary>
    public async Task<bool> RenewAsync(long runId, string worker, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(RenewSql);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = TimeSpan.FromSeconds(options.Value.LeaseSeconds) });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>The lease as the database sees it now; null when the run does not exist.</summary>
    public async Task<LeaseState?> ReadAsync(long runId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT status, lease_owner, lease_expires_at, now() FROM scheduler.runs WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var row = new RowReader(reader);
        if (!await row.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new LeaseState(
            WireName.Parse<RunStatus>(row.Get<string>("status")),
            row.OrNull<string>("lease_owner"),
            row.ValueOrNull<DateTimeOffset>("lease_expires_at"),
            row.Get<DateTimeOffset>("now"));
    }

    private static readonly string ReleaseUnstartedSql = $"""
        UPDATE scheduler.runs
        SET status = {Sql.Literal(RunStatus.Pending)}, lease_owner = NULL, lease_expires_at = NULL, attempt_count = attempt_count - 1,
            started_at = CASE WHEN attempt_count = 1 THEN NULL ELSE started_at END, updated_at = now()
        WHERE id = $1 AND lease_owner = $2
        """;

    /// <summary>
    /// Shutdown (or a buffered overlap) before the call began: the attempt never happened, so it is removed and
    /// the run is PENDING again, as if this worker had never taken it.
    /// </summary>
    public async Task ReleaseUnstartedAsync(RunClaim claim, string worker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Batches.Command("DELETE FROM scheduler.attempts WHERE id = $1", claim.AttemptId));
        batch.BatchCommands.Add(Batches.Command(ReleaseUnstartedSql, claim.RunId, worker));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private static readonly string InterruptAttemptSql = $"""
        UPDATE scheduler.attempts SET status = {Sql.Literal(AttemptStatus.Interrupted)}, completed_at = $2,
            error_message = 'The worker shut down before the call ended; the run was handed back.'
        WHERE id = $1
        """;

    private static readonly string HandBackSql = $"""
        UPDATE scheduler.runs SET status = {Sql.Literal(RunStatus.Pending)}, lease_owner = NULL, lease_expires_at = NULL,
            {RunStatements.AppendRemark("$3")}, updated_at = now()
        WHERE id = $1 AND lease_owner = $2
        """;

    /// <summary>
    /// Shutdown mid-call: the attempt is marked INTERRUPTED and the run goes back to PENDING at once, so the
    /// next worker to fetch its Hangfire job takes it without waiting for the lease to expire.
    /// </summary>
    public async Task HandBackAsync(RunClaim claim, string worker, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Batches.Command(InterruptAttemptSql, claim.AttemptId, now));
        batch.BatchCommands.Add(Batches.Command(HandBackSql, claim.RunId, worker,
            $"Attempt {claim.AttemptNumber} was interrupted: {worker} shut down mid-call and handed the run back."));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>Statements sent together in one round trip (one implicit transaction).</summary>
internal static class Batches
{
    /// <summary>A statement of a batch with its positional parameters (<c>$1</c>, <c>$2</c>, … in order).</summary>
    public static NpgsqlBatchCommand Command(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }
        return command;
    }
}
