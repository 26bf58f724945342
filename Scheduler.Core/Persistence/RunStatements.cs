namespace Scheduler.Core.Persistence;

/// <summary>
/// The statements on runs that the API, the worker and reconciliation all make: adding a remark, and
/// reopening a finished run for another (manual) attempt. One copy each, so they cannot drift apart.
/// </summary>
public static class RunStatements
{
    /// <summary>The <c>SET</c> item that appends <paramref name="value"/> (a parameter, <c>$3</c>) to a row's remarks.</summary>
    public static string AppendRemark(string value) => $"remarks = array_append(remarks, {value})";

    /// <summary>
    /// A finished run asked to run again by hand: PENDING, the next attempt manual, no retry pending, the remark
    /// added. <c>$1</c> the run, <c>$2</c> the remark. Changes nothing while the run is PENDING or RUNNING.
    /// </summary>
    public static readonly string ReopenSql = $"""
        UPDATE scheduler.runs
        SET {ReopenSet("$2")}
        WHERE id = $1 AND status NOT IN ({Sql.UnfinishedRuns})
        """;

    /// <summary>
    /// The <c>SET</c> list that reopens a finished run: PENDING, the next attempt manual, no retry pending,
    /// the remark (a parameter, <paramref name="remark"/>) added. Single runs and redrive's many share it.
    /// </summary>
    public static string ReopenSet(string remark) =>
        $"status = {Sql.Literal(RunStatus.Pending)}, retry_requested = true, next_attempt_at = NULL, {AppendRemark(remark)}, updated_at = now()";

    /// <summary>
    /// A Hangfire job requeued by hand reopens only the runs that ended unsuccessfully in it (<c>$3</c>, the job):
    /// not those that succeeded in the same batch, nor those retried since in another job.
    /// </summary>
    private static readonly string ReopenFailedInJobSql =
        $"{ReopenSql} AND status IN ({Sql.UnsuccessfulRuns}) AND hangfire_job_id = $3";

    /// <summary>Reopens a finished run (<see cref="ReopenSql"/>); false when it has not finished or does not exist.</summary>
    public static async Task<bool> ReopenAsync(NpgsqlDataSource database, long runId, string remark, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await using var command = database.CreateCommand(ReopenSql);
        return await ReopenAsync(command, runId, remark, cancellationToken);
    }

    /// <summary>The same on an open connection (an EF context's).</summary>
    public static async Task<bool> ReopenAsync(NpgsqlConnection connection, long runId, string remark, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(ReopenSql, connection);
        return await ReopenAsync(command, runId, remark, cancellationToken);
    }

    /// <summary>
    /// Reopens the run only if it ended unsuccessfully in job <paramref name="jobId"/> (<see cref="ReopenFailedInJobSql"/>);
    /// false otherwise.
    /// </summary>
    public static async Task<bool> ReopenFailedInJobAsync(NpgsqlDataSource database, long runId, string jobId, string remark, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await using var command = database.CreateCommand(ReopenFailedInJobSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
        return await ReopenAsync(command, runId, remark, cancellationToken);
    }

    private static async Task<bool> ReopenAsync(NpgsqlCommand command, long runId, string remark, CancellationToken cancellationToken)
    {
        // $1 and $2 go first, before a $3 the caller may have added.
        command.Parameters.Insert(0, new NpgsqlParameter<long> { TypedValue = runId });
        command.Parameters.Insert(1, new NpgsqlParameter<string> { TypedValue = remark });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Adds a remark to one row of a table with remarks (<c>runs</c>, <c>schedules</c>).</summary>
    public static async Task AddRemarkAsync(NpgsqlDataSource database, RemarkedTable table, long id, string remark, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await using var command = database.CreateCommand(table == RemarkedTable.Runs ? AddRunRemarkSql : AddScheduleRemarkSql);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = remark });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static readonly string AddRunRemarkSql = $"UPDATE scheduler.runs SET {AppendRemark("$2")} WHERE id = $1";
    private static readonly string AddScheduleRemarkSql = $"UPDATE scheduler.schedules SET {AppendRemark("$2")} WHERE id = $1";
}

/// <summary>The tables whose rows carry remarks.</summary>
public enum RemarkedTable
{
    Runs,
    Schedules,
}
