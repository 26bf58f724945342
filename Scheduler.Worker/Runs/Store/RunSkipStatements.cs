namespace Scheduler.Worker.Runs.Store;

/// <summary>A run that is not called after all: recorded SKIPPED with the reason, before its call (lateness, overlap).</summary>
internal sealed class RunSkipStatements(NpgsqlDataSource database)
{
    private static readonly string SkipPendingSql = $"""
        UPDATE scheduler.runs
        SET status = {Sql.Literal(RunStatus.Skipped)}, completed_at = $2, {RunStatements.AppendRemark("$3")}, updated_at = now()
        WHERE id = $1 AND status = {Sql.Literal(RunStatus.Pending)}
        """;

    /// <summary>A PENDING run that may no longer start (max_delay_seconds): SKIPPED with the reason, without a call.</summary>
    public async Task<bool> SkipPendingAsync(long runId, string remark, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(SkipPendingSql);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = remark });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static readonly string SkipClaimedSql = $"""
        UPDATE scheduler.runs
        SET status = {Sql.Literal(RunStatus.Skipped)}, lease_owner = NULL, lease_expires_at = NULL,
            attempt_count = attempt_count - 1, started_at = CASE WHEN attempt_count = 1 THEN NULL ELSE started_at END,
            completed_at = $3, {RunStatements.AppendRemark("$4")}, updated_at = now()
        WHERE id = $1 AND lease_owner = $2
        """;

    /// <summary>Overlap at the due time: the claimed run is recorded SKIPPED with the reason, its attempt removed, without a call.</summary>
    public async Task SkipClaimedAsync(RunClaim claim, string worker, string remark, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Batches.Command("DELETE FROM scheduler.attempts WHERE id = $1", claim.AttemptId));
        batch.BatchCommands.Add(Batches.Command(SkipClaimedSql, claim.RunId, worker, now, remark));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }
}
