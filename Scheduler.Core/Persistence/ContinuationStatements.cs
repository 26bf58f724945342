using Scheduler.Core.Jobs;

namespace Scheduler.Core.Persistence;

/// <summary>
/// Continuations (a schedule's <c>continuations</c>): the insert that gives each continuation of a finished run
/// its run, one copy for the worker's finish statement and reconciliation, and the cycle check the API makes
/// before writing. A run's continuation runs are unique by (parent_run_id, schedule_id)
/// (<see cref="SchedulerDbContext.ContinuationRunIndex"/>), so whoever inserts first wins and a second insert
/// does nothing: exactly one run per finished run and continuation.
/// </summary>
public static class ContinuationStatements
{
    /// <summary>The most continuations one schedule may have.</summary>
    public const int MaxPerSchedule = 20;

    /// <summary>The states of a run that ended unsuccessfully (for good, once no retry is left): what <c>failure</c> means.</summary>
    public static readonly string FailureStatuses =
        Sql.Literals(RunStatus.Failed, RunStatus.Timeout, RunStatus.DnsError, RunStatus.ConnectionError);

    /// <summary>The states of a run that start continuations: SUCCESS and the failures (SKIPPED and CANCELLED start none).</summary>
    public static readonly string ContinuingStatuses = $"{Sql.Literal(RunStatus.Success)}, {FailureStatuses}";

    /// <summary>
    /// <c>INSERT … RETURNING id, schedule_id, due_at, status, parent_run_id</c>: one run for each continuation of
    /// each finished run in <paramref name="finished"/> (a relation aliased <c>f</c> with <c>id</c>,
    /// <c>schedule_id</c> and the final <c>status</c>) that <paramref name="condition"/> (on <c>f</c> and the
    /// continuation <c>c</c>) lets through, at most <paramref name="limit"/> (SQL: a number, a parameter). The run is due now, PENDING; for a PAUSED schedule it is recorded
    /// SKIPPED at once, like an occurrence that falls while paused; a deleted schedule gets none.
    /// </summary>
    public static string InsertRunsSql(string finished, string condition, string limit = "ALL") => $"""
        INSERT INTO scheduler.runs (schedule_id, due_at, status, trigger, parent_run_id, attempt_count, retry_requested, remarks, completed_at, created_at, updated_at)
        SELECT c.next_schedule_id,
               -- Distinct due times: several runs finishing in one statement may continue into one schedule,
               -- whose runs are unique by due time.
               now() + make_interval(secs => (row_number() OVER (ORDER BY f.id, c.position))::float8 / 1000000),
               CASE WHEN n.status = {Sql.Literal(ScheduleStatus.Paused)} THEN {Sql.Literal(RunStatus.Skipped)} ELSE {Sql.Literal(RunStatus.Pending)} END,
               {Sql.Literal(RunTrigger.Continuation)}, f.id, 0, false,
               ARRAY[format('Continuation of run %s of schedule %s, which ended %s.', f.id, f.schedule_id, f.status)]
                 || CASE WHEN n.status = {Sql.Literal(ScheduleStatus.Paused)} THEN ARRAY[format('Skipped: schedule %s is PAUSED.', n.id)] ELSE ARRAY[]::text[] END,
               CASE WHEN n.status = {Sql.Literal(ScheduleStatus.Paused)} THEN now() END, now(), now()
        FROM {finished}
        JOIN scheduler.schedule_continuations c ON c.schedule_id = f.schedule_id
        JOIN scheduler.schedules n ON n.id = c.next_schedule_id AND n.deleted_at IS NULL
        WHERE ({condition})
          AND (c.fires_when = {Sql.Literal(ContinuationWhen.Any)} AND f.status IN ({ContinuingStatuses})
               OR c.fires_when = {Sql.Literal(ContinuationWhen.Success)} AND f.status = {Sql.Literal(RunStatus.Success)}
               OR c.fires_when = {Sql.Literal(ContinuationWhen.Failure)} AND f.status IN ({FailureStatuses}))
        LIMIT {limit}
        -- A run already there (its parent's continuation was inserted before) or a due time taken (reconciliation
        -- inserts it later) is not an error: the finish it is part of must not fail.
        ON CONFLICT DO NOTHING
        RETURNING id, schedule_id, due_at, status, parent_run_id
        """;

    // Reconciliation: the finished runs (within the look-back, by due time) of schedules with continuations...
    private static readonly string RecentlyFinishedRuns = $"""
        (SELECT r.id, r.schedule_id, r.status, r.completed_at FROM scheduler.runs r
         WHERE r.schedule_id IN (SELECT schedule_id FROM scheduler.schedule_continuations)
           AND r.due_at > now() - $1 AND r.status IN ({ContinuingStatuses})) f
        """;

    // ...whose continuation run is missing, for continuations written before the run ended.
    private static readonly string MissingSql = $"""
        WITH created AS (
            {InsertRunsSql(RecentlyFinishedRuns,
                "f.completed_at >= c.created_at AND NOT EXISTS (SELECT 1 FROM scheduler.runs x WHERE x.parent_run_id = f.id AND x.schedule_id = c.next_schedule_id)",
                "$2")}
        )
        SELECT id, schedule_id, due_at, status, parent_run_id FROM created
        """;

    /// <summary>
    /// Creates the continuation runs missing for runs that finished within <paramref name="lookBack"/> (by due
    /// time): what a finish that did not make them left behind. Returns the runs created.
    /// </summary>
    public static async Task<IReadOnlyList<ContinuationRun>> CreateMissingAsync(NpgsqlDataSource database, TimeSpan lookBack, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await using var command = database.CreateCommand(MissingSql);
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = lookBack });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var created = new List<ContinuationRun>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            created.Add(new ContinuationRun(reader.GetInt64(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2),
                WireName.Parse<RunStatus>(reader.GetString(3)), reader.GetInt64(4)));
        }
        return created;
    }

    // The schedules reachable from the continuations' targets, following continuations; $1 the schedule being
    // written, $2 the targets; the schedule's own (old) continuations are not followed, as they are being replaced,
    // nor a deleted schedule's (it gets no runs, so its continuations never fire). UNION (not UNION ALL) stops at
    // schedules already seen, so a cycle elsewhere in the graph cannot make it loop.
    private const string ReachesSql = """
        WITH RECURSIVE reach(id) AS (
            SELECT unnest($2::bigint[])
            UNION
            SELECT c.next_schedule_id FROM scheduler.schedule_continuations c JOIN reach ON c.schedule_id = reach.id
            JOIN scheduler.schedules s ON s.id = c.schedule_id AND s.deleted_at IS NULL
            WHERE c.schedule_id <> $1
        )
        SELECT EXISTS (SELECT 1 FROM reach WHERE id = $1)
        """;

    // Cycle checks are serialised: two writes that would each close half of a cycle (A→B and B→A at once)
    // cannot both pass. Only writes with continuations take it.
    private const long CycleLockKey = 0x5343_4843_4F4E_5431; // "SCHCONT1"

    /// <summary>
    /// Whether giving existing schedule <paramref name="scheduleId"/> continuations into <paramref name="nextScheduleIds"/>
    /// would close a cycle (it reaches itself). Takes a transaction-scoped lock that serialises cycle checks, so
    /// call it inside the transaction that writes the continuations. A schedule being created needs no check:
    /// nothing names it yet.
    /// </summary>
    public static async Task<bool> WouldCycleAsync(NpgsqlConnection connection, long scheduleId, IReadOnlyCollection<long> nextScheduleIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(nextScheduleIds);
        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({CycleLockKey})", connection))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }
        if (nextScheduleIds.Contains(scheduleId))
        {
            return true;
        }
        await using var command = new NpgsqlCommand(ReachesSql, connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = scheduleId });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = nextScheduleIds.ToArray() });
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }
}

/// <summary>A continuation run just created: its id, its schedule and due time, its status (PENDING, or SKIPPED for a paused schedule) and the run that started it.</summary>
public sealed record ContinuationRun(long RunId, long ScheduleId, DateTimeOffset DueAt, RunStatus Status, long ParentRunId)
{
    /// <summary>What to hand to Hangfire: null for a run recorded SKIPPED.</summary>
    public RunToEnqueue? ToEnqueue => Status == RunStatus.Pending ? new RunToEnqueue(RunId, ScheduleId, DueAt) : null;
}
