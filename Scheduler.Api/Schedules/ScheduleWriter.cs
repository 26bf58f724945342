using Npgsql;
using Scheduler.Core.Jobs;
using Scheduler.Core.Model;
using Scheduler.Core.Observability;
using Scheduler.Core.Persistence;
using Scheduler.Core.Security;
using System.Text.Json;

namespace Scheduler.Api.Schedules;

/// <summary>
/// Commits new schedules (with their inline targets and, for IMMEDIATE, their runs). Requests that arrive
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
    private readonly ILogger<ScheduleWriter> _logger;
    private readonly WriteBatcher<Pending> _batcher;

    public ScheduleWriter(SecretProtector secrets, RunHandOff handOff, NpgsqlDataSource database, ILogger<ScheduleWriter> logger)
    {
        (_secrets, _handOff, _database, _logger) = (secrets, handOff, database, logger);
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

    /// <summary>
    /// One statement for the whole batch: the rows as one JSON array (jsonb_to_recordset), keys drawn from the
    /// tables' identity sequences, then the inline targets, the schedules and the runs inserted from it, with
    /// the secrets encrypted first (as <see cref="Core.Security.SecretsInterceptor"/> does for EF). Measured:
    /// EF's SaveChanges of the same rows was a third of the API's CPU during a burst (docs/performance.md).
    /// </summary>
    private async Task CommitAsync(IReadOnlyList<Pending> batch)
    {
        var schedules = batch.SelectMany(p => p.Schedules).ToList();
        var runs = batch.SelectMany(p => p.Runs).ToDictionary(r => r.Schedule ?? throw new InvalidOperationException("A new run needs its schedule."));
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
            rows.Add(NewRow.From(i, schedule, target, runs.GetValueOrDefault(schedule)));
        }
        await using var command = _database.CreateCommand(InsertSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = JsonSerializer.Serialize(rows, RowJson), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Jsonb });
        var keys = new (long? TargetId, long ScheduleId, long? RunId)[schedules.Count];
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                keys[reader.GetInt32(0)] = (reader.IsDBNull(1) ? null : reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetInt64(3));
            }
        }
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

    private static readonly JsonSerializerOptions RowJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>
    /// One schedule with its new inline target and its new run (an IMMEDIATE schedule's), as the insert reads
    /// them. A new run starts PENDING with no attempt; its other columns are empty.
    /// </summary>
    private sealed record NewRow(
        int Ord,
        string? TName, bool? TInline, string? TUrl, string? TMethod, Dictionary<string, string>? THeaders, string? TBodyTemplate,
        int? TTimeoutSeconds, string? TSigningSecret, DateTimeOffset? TCreatedAt, double? TRateLimitPerSecond, int? TMaxConcurrency,
        string? TCompletion, int? TCompletionTimeoutSeconds,
        string? Name, long? TargetId, string? JobName, string? JobArgs, string ScheduleType, string Status, DateTimeOffset? RunAt,
        int? IntervalSeconds, int? DurationSeconds, DateTimeOffset? StartAt, DateTimeOffset? EndAt, string? CronExpression, string? TimeZone,
        DateTimeOffset? NextRunAt, string OverlapPolicy, string CatchUpPolicy, int[] ExpectedHttpStatus, int? MaxAttempts,
        int? RetryInitialIntervalSeconds, int? RetryMaxIntervalSeconds, int? MaxDelaySeconds, string? CallbackUrl, string? ErrorCallbackUrl,
        Dictionary<string, string> CallbackHeaders, bool NoResponse, string? ReferenceId, string? RefDoctype, string? RefDocname, string? Tag,
        string Source, string? ExternalKey, string? ExternalData, string? CreatedBy, List<string> Remarks, DateTimeOffset CreatedAt,
        string? TraceParent, DateTimeOffset? RDueAt, string? RTrigger, string? RTraceParent)
    {
        public static NewRow From(int ord, Schedule s, Target? t, Run? r) => new(
            ord, t?.Name, t?.Inline, t?.Url, t?.Method, t?.Headers, t?.BodyTemplate, t?.TimeoutSeconds, t?.SigningSecret, t?.CreatedAt, t?.RateLimitPerSecond, t?.MaxConcurrency,
            t is null ? null : WireName.Of(t.Completion), t?.CompletionTimeoutSeconds,
            s.Name, t is null ? s.TargetId : null, s.JobName, s.JobArgs, WireName.Of(s.Type), WireName.Of(s.Status), s.RunAt,
            s.IntervalSeconds, s.DurationSeconds, s.StartAt, s.EndAt, s.CronExpression, s.TimeZone,
            s.NextRunAt, WireName.Of(s.OverlapPolicy), WireName.Of(s.CatchUpPolicy), s.ExpectedHttpStatus, s.MaxAttempts,
            s.RetryInitialIntervalSeconds, s.RetryMaxIntervalSeconds, s.MaxDelaySeconds, s.CallbackUrl, s.ErrorCallbackUrl,
            s.CallbackHeaders, s.NoResponse, s.ReferenceId, s.RefDoctype, s.RefDocname, s.Tag,
            s.Source, s.ExternalKey, s.ExternalData, s.CreatedBy, s.Remarks, s.CreatedAt,
            s.TraceParent, r?.DueAt, r is null ? null : WireName.Of(r.Trigger), r?.TraceParent);
    }

    private static readonly string InsertSql = $"""
        WITH input AS MATERIALIZED (
            SELECT u.*,
                   CASE WHEN u.t_url IS NOT NULL THEN nextval(pg_get_serial_sequence('scheduler.targets', 'id')) END AS new_target_id,
                   nextval(pg_get_serial_sequence('scheduler.schedules', 'id')) AS new_schedule_id,
                   CASE WHEN u.r_due_at IS NOT NULL THEN nextval(pg_get_serial_sequence('scheduler.runs', 'id')) END AS new_run_id
            FROM jsonb_to_recordset($1) AS u(
                ord int, t_name text, t_inline bool, t_url text, t_method text, t_headers jsonb, t_body_template text,
                t_timeout_seconds int, t_signing_secret text, t_created_at timestamptz, t_rate_limit_per_second float8, t_max_concurrency int,
                t_completion text, t_completion_timeout_seconds int,
                name text, target_id bigint, job_name text, job_args text, schedule_type text, status text, run_at timestamptz,
                interval_seconds int, duration_seconds int, start_at timestamptz, end_at timestamptz, cron_expression text, time_zone text,
                next_run_at timestamptz, overlap_policy text, catch_up_policy text, expected_http_status int[], max_attempts int,
                retry_initial_interval_seconds int, retry_max_interval_seconds int, max_delay_seconds int, callback_url text, error_callback_url text,
                callback_headers jsonb, no_response bool, reference_id text, ref_doctype text, ref_docname text, tag text,
                source text, external_key text, external_data text, created_by text, remarks text[], created_at timestamptz,
                trace_parent text, r_due_at timestamptz, r_trigger text, r_trace_parent text)
        ), targets AS (
            INSERT INTO scheduler.targets (id, name, inline, url, method, headers, body_template, timeout_seconds, signing_secret, created_at, updated_at,
                rate_limit_per_second, max_concurrency, completion, completion_timeout_seconds)
            OVERRIDING SYSTEM VALUE
            SELECT new_target_id, t_name, t_inline, t_url, t_method, t_headers, t_body_template, t_timeout_seconds, t_signing_secret, t_created_at, t_created_at,
                t_rate_limit_per_second, t_max_concurrency, t_completion, t_completion_timeout_seconds
            FROM input WHERE new_target_id IS NOT NULL
        ), schedules AS (
            INSERT INTO scheduler.schedules (id, name, target_id, job_name, job_args, schedule_type, status, run_at, interval_seconds,
                duration_seconds, start_at, end_at, cron_expression, time_zone, next_run_at, overlap_policy, catch_up_policy,
                expected_http_status, max_attempts, retry_initial_interval_seconds, retry_max_interval_seconds, max_delay_seconds,
                callback_url, error_callback_url, callback_headers, no_response, reference_id, ref_doctype, ref_docname, tag,
                source, external_key, external_data, created_by, remarks, created_at, updated_at, trace_parent)
            OVERRIDING SYSTEM VALUE
            SELECT new_schedule_id, name, COALESCE(new_target_id, target_id), job_name, job_args::jsonb, schedule_type, status, run_at, interval_seconds,
                duration_seconds, start_at, end_at, cron_expression, time_zone, next_run_at, overlap_policy, catch_up_policy,
                expected_http_status, max_attempts, retry_initial_interval_seconds, retry_max_interval_seconds, max_delay_seconds,
                callback_url, error_callback_url, callback_headers, no_response, reference_id, ref_doctype, ref_docname, tag,
                source, external_key, external_data::jsonb, created_by, remarks, created_at, created_at, trace_parent
            FROM input
        ), runs AS (
            INSERT INTO scheduler.runs (id, schedule_id, due_at, status, trigger, attempt_count, retry_requested, remarks, created_at, updated_at, trace_parent)
            OVERRIDING SYSTEM VALUE
            SELECT new_run_id, new_schedule_id, r_due_at, '{WireName.Of(RunStatus.Pending)}', r_trigger, 0, false, ARRAY[]::text[], created_at, created_at, r_trace_parent
            FROM input WHERE new_run_id IS NOT NULL
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
    /// One notification for the batch, after the commit (a dispatcher woken earlier would not see the rows):
    /// the earliest next occurrence. Dispatchers also look on their own every few seconds, so a lost
    /// notification delays, never loses, an occurrence.
    /// </summary>
    private async Task WakeDispatchersAsync(IReadOnlyList<Pending> batch)
    {
        var earliest = batch.SelectMany(p => p.Schedules)
            .Where(s => s is { Status: ScheduleStatus.Active, DeletedAt: null, NextRunAt: not null })
            .Min(s => s.NextRunAt);
        if (earliest is not { } next)
        {
            return;
        }
        try
        {
            await using var notify = _database.CreateCommand(DispatchSignal.NotifyCommand);
            notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = DispatchSignal.Payload(next) });
            await notify.ExecuteNonQueryAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            Log.DispatchersNotWoken(_logger, ex.Message);
        }
    }
}
