using NpgsqlTypes;

namespace Scheduler.Worker.Runs.Store;

/// <summary>
/// Where a run is claimed: takes a run that is PENDING, or RUNNING under an expired lease (its worker died),
/// under this worker's lease, marks a dead worker's attempt LOST and starts a new attempt. The claims of the
/// runs starting at once are one statement (<see cref="StatementBatcher{TRequest, TRow}"/>), and a run is
/// claimed at most once in it. The lease's expiry is the database's clock, so workers on different machines agree.
/// </summary>
internal sealed class RunClaimStatement
{
    private readonly NpgsqlDataSource database;
    private readonly IOptions<ExecutionOptions> options;
    private readonly StatementBatcher<ClaimRequest, RunClaim> _claims;

    public RunClaimStatement(NpgsqlDataSource database, IOptions<ExecutionOptions> options)
    {
        (this.database, this.options) = (database, options);
        _claims = new StatementBatcher<ClaimRequest, RunClaim>(ClaimManyAsync, claim => claim.RunId, exclusive: true);
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
            await RunStatements.AddRemarkAsync(database, RemarkedTable.Runs, runId,
                $"Recovered: {claim.LostAttempts} was lost when its worker stopped renewing the lease; {worker} re-executed the run as attempt {claim.AttemptNumber}.",
                cancellationToken);
        }
        return claim;
    }

    private sealed record ClaimRequest(long RunId, string Worker, DateTimeOffset StartedAt, string? JobId);

    private static readonly UnnestInput<ClaimRequest> Input = new UnnestInput<ClaimRequest>()
        .Column("run_id", "bigint", NpgsqlDbType.Bigint, r => r.RunId)
        .Column("started_at", "timestamptz", NpgsqlDbType.TimestampTz, r => r.StartedAt)
        .Column("job_id", "text", NpgsqlDbType.Text, r => r.JobId);

    private static readonly string WorkerParameter = Input.After(1);
    private static readonly string LeaseParameter = Input.After(2);

    private async Task<IReadOnlyDictionary<long, RunClaim>> ClaimManyAsync(IReadOnlyList<ClaimRequest> requests)
    {
        var claims = new Dictionary<long, RunClaim>();
        // One process has one worker name; claims of different names (tests) go in their own statements.
        foreach (var byWorker in requests.GroupBy(r => r.Worker))
        {
            await using var command = new GenericPlanStatement(database, ClaimSql);
            Input.AddParameters(command.Parameters, byWorker.ToList());
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = byWorker.Key });
            command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = TimeSpan.FromSeconds(options.Value.LeaseSeconds) });
            await using var reader = await command.ExecuteReaderAsync();
            var row = new RowReader(reader);
            while (await row.ReadAsync())
            {
                var runId = row.Get<long>("run_id");
                claims[runId] = new RunClaim(runId, row.Get<long>("id"), row.Get<int>("attempt_number"), row.OrNull<string>("lost_attempts"), row.Get<bool>("manual"));
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
            SELECT * FROM {Input.Sql}
        ), before AS MATERIALIZED (
            SELECT r.id, r.status, r.lease_expires_at, r.retry_requested FROM scheduler.runs r
            WHERE r.id = ANY ({Input.Placeholder("run_id")})
            ORDER BY r.id
            FOR UPDATE
        ), claimed AS (
            UPDATE scheduler.runs r
            SET status = {Sql.Literal(RunStatus.Running)}, lease_owner = {WorkerParameter}, lease_expires_at = now() + {LeaseParameter}, retry_requested = false,
                attempt_count = r.attempt_count + 1, started_at = COALESCE(r.started_at, i.started_at), updated_at = now(),
                hangfire_job_id = COALESCE(i.job_id, r.hangfire_job_id)
            FROM before b JOIN input i ON i.run_id = b.id
            WHERE r.id = b.id
              AND (b.status = {Sql.Literal(RunStatus.Pending)} OR (b.status = {Sql.Literal(RunStatus.Running)} AND (b.lease_expires_at IS NULL OR b.lease_expires_at < now())))
            RETURNING r.id, r.schedule_id, r.attempt_count, b.retry_requested, i.started_at
        ), lost AS (
            UPDATE scheduler.attempts a
            SET status = {Sql.Literal(AttemptStatus.Lost)}, completed_at = now(), error_type = {Sql.Literal(ErrorType.WorkerLost)},
                error_message = 'Its worker stopped renewing the lease (killed, hung or cut off); ' || {WorkerParameter} || ' took the run over.'
            FROM claimed
            WHERE a.run_id = claimed.id AND a.status = {Sql.Literal(AttemptStatus.Running)}
            RETURNING a.run_id, a.attempt_number, a.worker
        ), attempt AS (
            INSERT INTO scheduler.attempts (run_id, schedule_id, attempt_number, status, manual, worker, started_at)
            SELECT id, schedule_id, attempt_count, {Sql.Literal(AttemptStatus.Running)}, retry_requested, {WorkerParameter}, started_at FROM claimed
            RETURNING run_id, id, attempt_number, manual
        )
        SELECT attempt.run_id, attempt.id, attempt.attempt_number,
               (SELECT string_agg('attempt ' || l.attempt_number || ' by ' || COALESCE(l.worker, 'an unknown worker'), ', ')
                FROM lost l WHERE l.run_id = attempt.run_id) AS lost_attempts,
               attempt.manual
        FROM attempt
        """;
}
