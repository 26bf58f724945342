using Npgsql;
using Scheduler.Core.Jobs;
using Scheduler.Core.Observability;
using Scheduler.Core.Security;

namespace Scheduler.Api.Schedules;

/// <summary>
/// Commits new schedules (with their inline targets, continuations and, for IMMEDIATE, their runs). Requests that arrive
/// while a commit is in flight share the next one: under load many POSTs make one transaction, and alone a
/// POST makes the same single commit as before. A request is answered only once its rows are committed.
/// After the commit the runs are handed to Hangfire (<see cref="RunHandOff"/>) and the dispatchers are told
/// the earliest next occurrence, once for the whole batch.
/// </summary>
public sealed class ScheduleWriter
{
    private readonly SecretProtector _secrets;
    private readonly RunHandOff _handOff;
    private readonly NpgsqlDataSource _database;
    private readonly DispatchAnnouncer _announcer;
    private readonly WriteBatcher<Pending> _batcher;

    public ScheduleWriter(SecretProtector secrets, RunHandOff handOff, NpgsqlDataSource database, DispatchAnnouncer announcer)
    {
        (_secrets, _handOff, _database, _announcer) = (secrets, handOff, database, announcer);
        _batcher = new WriteBatcher<Pending>(WriteAsync, MaxSchedulesPerCommit, weight: p => p.Schedules.Count);
    }

    /// <summary>The most schedules one transaction carries (a bulk request larger than this is still one transaction).</summary>
    public const int MaxSchedulesPerCommit = 1000;

    private sealed record Pending(IReadOnlyList<Schedule> Schedules, IReadOnlyList<Run> Runs, TaskCompletionSource Committed);

    /// <summary>
    /// Commits the schedules and runs (each run's <see cref="Run.Schedule"/> is one of the schedules) in one
    /// transaction, possibly with other requests' rows. Completes when they are committed; fails, with nothing
    /// of this request written, when they could not be.
    /// </summary>
    public Task SaveAsync(IReadOnlyList<Schedule> schedules, IReadOnlyList<Run> runs)
    {
        // The request's span, taken here while it is current (the batch commits elsewhere): an IMMEDIATE run's attempts
        // continue it, and a recurring schedule's runs link to it.
        var traceParent = SchedulerTracing.CurrentTraceParent();
        foreach (var schedule in schedules)
        {
            schedule.TraceParent ??= traceParent;
        }
        foreach (var run in runs)
        {
            run.TraceParent ??= traceParent;
        }
        var pending = new Pending(schedules, runs, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _batcher.Post(pending);
        return pending.Committed.Task;
    }

    private async Task WriteAsync(IReadOnlyList<Pending> batch)
    {
        try
        {
            await CommitAsync(batch);
        }
        catch (Exception) when (batch.Count > 1)
        {
            // One request's rows must not fail another's: each goes alone, and fails alone.
            foreach (var pending in batch)
            {
                ResetKeys(pending);
                await WriteAsync([pending]);
            }
            return;
        }
        catch (Exception ex)
        {
            ResetKeys(batch[0]);
            batch[0].Committed.TrySetException(ex);
            return;
        }

        foreach (var pending in batch)
        {
            pending.Committed.TrySetResult();
            foreach (var run in pending.Runs)
            {
                _handOff.Post(new RunToEnqueue(run.Id, run.ScheduleId, run.DueAt));
            }
        }
        await WakeDispatchersAsync(batch);
    }

    /// <summary>Inserts a batch (<see cref="InsertAsync"/>) in a transaction of its own, and gives the rows their keys.</summary>
    private async Task CommitAsync(IReadOnlyList<Pending> batch)
    {
        var schedules = batch.SelectMany(p => p.Schedules).ToList();
        var runs = BySchedule(batch.SelectMany(p => p.Runs));
        await using var command = _database.CreateCommand(InsertSql);
        var keys = await InsertAsync(command, schedules, runs);
        // Committed (one statement, its own transaction): the keys go onto the objects the requests answer with.
        for (var i = 0; i < schedules.Count; i++)
        {
            var (targetId, scheduleId, runId) = keys[i];
            var schedule = schedules[i];
            schedule.Id = scheduleId;
            if (targetId is { } id && schedule.Target is { } target)
            {
                target.Id = id;
                schedule.TargetId = id;
            }
            if (runId is { } run && runs.TryGetValue(schedule, out var newRun))
            {
                newRun.Id = run;
                newRun.ScheduleId = scheduleId;
            }
        }
    }

    /// <summary>
    /// Runs the insert of <see cref="SaveAsync"/> for these schedules and runs in a transaction that is rolled
    /// back: the statement is parsed, planned and executed and the rows are read back, and nothing is written
    /// (only the keys drawn from the identity sequences are used up). With <paramref name="execute"/> false the
    /// insert is only made ready (its rows and parameter), and the database is not touched: a rolled-back insert
    /// still leaves dead rows behind, which thousands of rehearsals would make the tables carry.
    /// <see cref="Hosting.ApiWarmup"/> walks the create path with it before the API takes requests.
    /// </summary>
    public async Task RehearseAsync(IReadOnlyList<Schedule> schedules, IReadOnlyList<Run> runs, bool execute, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (!execute)
        {
            await using var unsent = new NpgsqlCommand(InsertSql);
            Bind(unsent, schedules, BySchedule(runs));
            return;
        }
        await using var connection = await _database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(InsertSql, connection, transaction);
        _ = await InsertAsync(command, schedules, BySchedule(runs));
        await transaction.RollbackAsync(cancellationToken);
    }

    private static Dictionary<Schedule, Run> BySchedule(IEnumerable<Run> runs) =>
        runs.ToDictionary(r => r.Schedule ?? throw new InvalidOperationException("A new run needs its schedule."));

    /// <summary>
    /// One statement for the whole batch: the rows as one JSON array (json_to_recordset), keys drawn from the
    /// tables' identity sequences, then the inline targets, the schedules and the runs inserted from it, with
    /// the secrets encrypted first (as <see cref="Core.Security.SecretsInterceptor"/> does for EF). Measured:
    /// EF's SaveChanges of the same rows was a third of the API's CPU during a burst (docs/performance.md).
    /// Returns each schedule's keys, in order.
    /// </summary>
    private async Task<(long? TargetId, long ScheduleId, long? RunId)[]> InsertAsync(NpgsqlCommand command, IReadOnlyList<Schedule> schedules, Dictionary<Schedule, Run> runs)
    {
        Bind(command, schedules, runs);
        var keys = new (long? TargetId, long ScheduleId, long? RunId)[schedules.Count];
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            keys[reader.GetInt32(0)] = (reader.IsDBNull(1) ? null : reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetInt64(3));
        }
        return keys;
    }

    /// <summary>The insert's one parameter: the rows as JSON, the secrets encrypted first.</summary>
    private void Bind(NpgsqlCommand command, IReadOnlyList<Schedule> schedules, Dictionary<Schedule, Run> runs)
    {
        var rows = new List<NewRow>(schedules.Count);
        for (var i = 0; i < schedules.Count; i++)
        {
            var schedule = schedules[i];
            var target = schedule.Target is { Id: 0 } inline ? inline : null;
            if (target is not null)
            {
                target.Headers = _secrets.ProtectHeaders(target.Headers);
                target.SigningSecret = target.SigningSecret is { } secret ? _secrets.Protect(secret) : null;
            }
            schedule.CallbackHeaders = _secrets.ProtectHeaders(schedule.CallbackHeaders);
            rows.Add(new NewRow(i, schedule, target, runs.GetValueOrDefault(schedule)));
        }
        command.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = Input.ToJson(rows), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Json });
    }

    /// <summary>
    /// One schedule with its new inline target, its new run (an IMMEDIATE schedule's) and its continuations, as
    /// the insert reads them. A new run starts PENDING with no attempt; its other columns are empty.
    /// </summary>
    private sealed record NewRow(int Ord, Schedule S, Target? T, Run? R);

    private const string Targets = "targets", Schedules = "schedules", Runs = "runs";

    /// <summary>Every column of the insert, once: its input name, SQL type, value, and the table column it fills.</summary>
    private static readonly RecordsetInput<NewRow> Input = new RecordsetInput<NewRow>()
        .Read("ord", "int", r => r.Ord)
        .Into(Targets, "name", "text", r => r.T?.Name, name: "t_name")
        .Into(Targets, "inline", "bool", r => r.T?.Inline, name: "t_inline")
        .Into(Targets, "url", "text", r => r.T?.Url, name: "t_url")
        .Into(Targets, "method", "text", r => r.T?.Method, name: "t_method")
        .Into(Targets, "headers", "jsonb", r => r.T?.Headers, name: "t_headers")
        .Into(Targets, "body_template", "text", r => r.T?.BodyTemplate, name: "t_body_template")
        .Into(Targets, "timeout_seconds", "int", r => r.T?.TimeoutSeconds, name: "t_timeout_seconds")
        .Into(Targets, "signing_secret", "text", r => r.T?.SigningSecret, name: "t_signing_secret")
        .Into(Targets, "created_at", "timestamptz", r => r.T?.CreatedAt, name: "t_created_at")
        .Into(Targets, "rate_limit_per_second", "float8", r => r.T?.RateLimitPerSecond, name: "t_rate_limit_per_second")
        .Into(Targets, "max_concurrency", "int", r => r.T?.MaxConcurrency, name: "t_max_concurrency")
        .Into(Targets, "completion", "text", r => r.T is null ? null : WireName.Of(r.T.Completion), name: "t_completion")
        .Into(Targets, "completion_timeout_seconds", "int", r => r.T?.CompletionTimeoutSeconds, name: "t_completion_timeout_seconds")
        .Into(Schedules, "name", "text", r => r.S.Name)
        .Into(Schedules, "target_id", "bigint", r => r.T is null ? r.S.TargetId : null, select: "COALESCE(new_target_id, target_id)")
        .Into(Schedules, "job_name", "text", r => r.S.JobName)
        // The args are JSON text: a jsonb input column would take them as one JSON string.
        .Into(Schedules, "job_args", "text", r => r.S.JobArgs, select: "job_args::jsonb")
        .Into(Schedules, "schedule_type", "text", r => WireName.Of(r.S.Type))
        .Into(Schedules, "status", "text", r => WireName.Of(r.S.Status))
        .Into(Schedules, "run_at", "timestamptz", r => r.S.RunAt)
        .Into(Schedules, "interval_seconds", "int", r => r.S.IntervalSeconds)
        .Into(Schedules, "duration_seconds", "int", r => r.S.DurationSeconds)
        .Into(Schedules, "start_at", "timestamptz", r => r.S.StartAt)
        .Into(Schedules, "end_at", "timestamptz", r => r.S.EndAt)
        .Into(Schedules, "cron_expression", "text", r => r.S.CronExpression)
        .Into(Schedules, "time_zone", "text", r => r.S.TimeZone)
        .Into(Schedules, "next_run_at", "timestamptz", r => r.S.NextRunAt)
        .Into(Schedules, "overlap_policy", "text", r => WireName.Of(r.S.OverlapPolicy))
        .Into(Schedules, "catch_up_policy", "text", r => WireName.Of(r.S.CatchUpPolicy))
        .Into(Schedules, "expected_http_status", "int[]", r => r.S.ExpectedHttpStatus)
        .Into(Schedules, "max_attempts", "int", r => r.S.MaxAttempts)
        .Into(Schedules, "retry_initial_interval_seconds", "int", r => r.S.RetryInitialIntervalSeconds)
        .Into(Schedules, "retry_max_interval_seconds", "int", r => r.S.RetryMaxIntervalSeconds)
        .Into(Schedules, "max_delay_seconds", "int", r => r.S.MaxDelaySeconds)
        .Into(Schedules, "callback_url", "text", r => r.S.CallbackUrl)
        .Into(Schedules, "error_callback_url", "text", r => r.S.ErrorCallbackUrl)
        .Into(Schedules, "callback_headers", "jsonb", r => r.S.CallbackHeaders)
        .Into(Schedules, "no_response", "bool", r => r.S.NoResponse)
        .Into(Schedules, "reference_id", "text", r => r.S.ReferenceId)
        .Into(Schedules, "ref_doctype", "text", r => r.S.RefDoctype)
        .Into(Schedules, "ref_docname", "text", r => r.S.RefDocname)
        .Into(Schedules, "tag", "text", r => r.S.Tag)
        .Into(Schedules, "source", "text", r => r.S.Source)
        .Into(Schedules, "external_key", "text", r => r.S.ExternalKey)
        .Into(Schedules, "external_data", "text", r => r.S.ExternalData, select: "external_data::jsonb")
        .Into(Schedules, "created_by", "text", r => r.S.CreatedBy)
        .Into(Schedules, "remarks", "text[]", r => r.S.Remarks)
        .Into(Schedules, "created_at", "timestamptz", r => r.S.CreatedAt)
        .Into(Schedules, "trace_parent", "text", r => r.S.TraceParent)
        .Into(Runs, "due_at", "timestamptz", r => r.R?.DueAt, name: "r_due_at")
        .Into(Runs, "trigger", "text", r => r.R is null ? null : WireName.Of(r.R.Trigger), name: "r_trigger")
        .Into(Runs, "trace_parent", "text", r => r.R?.TraceParent, name: "r_trace_parent")
        // The schedule's continuations as two lists (null without any, so a schedule without pays nothing).
        .Read("c_next", "bigint[]", r => r.S.Continuations.Count == 0 ? null : r.S.Continuations.Select(c => c.NextScheduleId).ToArray())
        .Read("c_when", "text[]", r => r.S.Continuations.Count == 0 ? null : r.S.Continuations.Select(c => WireName.Of(c.When)).ToArray());

    // The keys' sequences are looked up once a statement (seq): pg_get_serial_sequence reads the catalog each time it
    // is called: 2.4 µs a call, three a schedule, about 5 % of the statement's time (docs/performance.md).
    private static readonly string InsertSql = $"""
        WITH seq AS MATERIALIZED (
            SELECT pg_get_serial_sequence('scheduler.targets', 'id')::regclass AS targets,
                   pg_get_serial_sequence('scheduler.schedules', 'id')::regclass AS schedules,
                   pg_get_serial_sequence('scheduler.runs', 'id')::regclass AS runs
        ), input AS MATERIALIZED (
            SELECT u.*,
                   CASE WHEN u.t_url IS NOT NULL THEN nextval(seq.targets) END AS new_target_id,
                   nextval(seq.schedules) AS new_schedule_id,
                   CASE WHEN u.r_due_at IS NOT NULL THEN nextval(seq.runs) END AS new_run_id
            FROM json_to_recordset($1) AS u({Input.RecordType}) CROSS JOIN seq
        ), targets AS (
            INSERT INTO scheduler.targets (id, {Input.Columns(Targets)}, updated_at)
            OVERRIDING SYSTEM VALUE
            SELECT new_target_id, {Input.Selects(Targets)}, t_created_at
            FROM input WHERE new_target_id IS NOT NULL
        ), schedules AS (
            INSERT INTO scheduler.schedules (id, {Input.Columns(Schedules)}, updated_at)
            OVERRIDING SYSTEM VALUE
            SELECT new_schedule_id, {Input.Selects(Schedules)}, created_at
            FROM input
        ), runs AS (
            INSERT INTO scheduler.runs (id, schedule_id, {Input.Columns(Runs)}, status, attempt_count, retry_requested, remarks, created_at, updated_at)
            OVERRIDING SYSTEM VALUE
            SELECT new_run_id, new_schedule_id, {Input.Selects(Runs)}, {Sql.Literal(RunStatus.Pending)}, 0, false, ARRAY[]::text[], created_at, created_at
            FROM input WHERE new_run_id IS NOT NULL
        ), continuations AS (
            INSERT INTO scheduler.schedule_continuations (schedule_id, next_schedule_id, fires_when, position, created_at)
            SELECT new_schedule_id, c.next, c.fires_when, (c.ord - 1)::int, created_at
            FROM input CROSS JOIN LATERAL unnest(c_next, c_when) WITH ORDINALITY AS c(next, fires_when, ord)
            WHERE c_next IS NOT NULL
        )
        SELECT ord, new_target_id, new_schedule_id, new_run_id FROM input
        """;

    /// <summary>After a failed commit, keys the database handed out in the rolled-back transaction are not the rows' keys.</summary>
    private static void ResetKeys(Pending pending)
    {
        foreach (var schedule in pending.Schedules)
        {
            schedule.Id = 0;
            if (schedule.Target is { } inline)
            {
                inline.Id = 0;
                schedule.TargetId = null;
            }
        }
        foreach (var run in pending.Runs)
        {
            run.Id = 0;
            run.ScheduleId = 0;
        }
    }

    /// <summary>
    /// The dispatchers are told the batch's earliest next occurrence, after the commit (a dispatcher woken earlier
    /// would not see the rows), through <see cref="DispatchAnnouncer"/>: at once, with others, or not at all when
    /// their own looks will find it in time.
    /// </summary>
    private Task WakeDispatchersAsync(IReadOnlyList<Pending> batch)
    {
        var earliest = batch.SelectMany(p => p.Schedules)
            .Where(s => s is { Status: ScheduleStatus.Active, DeletedAt: null, NextRunAt: not null })
            .Min(s => s.NextRunAt);
        return earliest is { } next ? _announcer.AnnounceAsync(next) : Task.CompletedTask;
    }
}
