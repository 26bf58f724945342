using System.Text.Json;
using Scheduler.Core.Security;

namespace Scheduler.Worker.Runs.Store;

/// <summary>
/// Reads what a run needs: its plan (the run, its schedule and target), and the earlier runs of its schedule
/// still going (the overlap gate). The plans of the runs loading at once are one query
/// (<see cref="StatementBatcher{TRequest, TRow}"/>).
/// </summary>
internal sealed class RunPlanQuery
{
    private readonly NpgsqlDataSource database;
    private readonly IOptions<ExecutionOptions> options;
    private readonly SecretProtector secrets;
    private readonly StatementBatcher<long, RunPlan> _loads;

    public RunPlanQuery(NpgsqlDataSource database, IOptions<ExecutionOptions> options, SecretProtector secrets)
    {
        (this.database, this.options, this.secrets) = (database, options, secrets);
        _loads = new StatementBatcher<long, RunPlan>(LoadManyAsync, runId => runId);
    }

    /// <summary>The run and everything its call needs; null when there is no such run.</summary>
    public Task<RunPlan?> LoadAsync(long runId, CancellationToken cancellationToken) => _loads.ExecuteAsync(runId).WaitAsync(cancellationToken);

    // Each run's schedule and target are looked up by key, one run at a time (LATERAL … LIMIT 1, which the planner
    // cannot turn into a join of whole tables). As a plain join, the generic plan made on a new system's tables (empty,
    // never analyzed) hashed the runs and read every schedule through an index to join them: a load read all the
    // schedules created so far, until an ANALYZE replaced the plan (measured in a fresh system's first 3,000 runs:
    // 1.09 ms and 811 blocks a call that way, 0.69 ms and 554 this way; docs/performance.md).
    internal static readonly string LoadSql = $"""
        SELECT r.id, r.schedule_id, r.due_at, r.status, s.schedule_type, s.expected_http_status, s.no_response,
               s.job_name, t.url, t.method, t.headers, t.body_template, t.timeout_seconds, s.overlap_policy,
               (SELECT count(*)::int FROM scheduler.runs e
                WHERE e.schedule_id = r.schedule_id AND e.id <> r.id AND e.status IN ({Sql.UnfinishedRuns}) AND e.due_at < r.due_at) AS earlier_runs_active,
               r.attempt_count, r.next_attempt_at, s.max_delay_seconds, s.max_attempts, s.retry_initial_interval_seconds,
               s.retry_max_interval_seconds, r.retry_requested, s.job_args, t.signing_secret, s.callback_url, s.error_callback_url,
               s.target_id, t.rate_limit_per_second, t.max_concurrency, r.limit_turn_at, r.limit_wait_since,
               r.trace_parent, s.schedule_trace_parent,
               t.completion, t.completion_timeout_seconds
        FROM scheduler.runs r
        CROSS JOIN LATERAL (
            SELECT schedule_type, expected_http_status, no_response, job_name, overlap_policy, max_delay_seconds, max_attempts,
                   retry_initial_interval_seconds, retry_max_interval_seconds, job_args::text AS job_args, callback_url,
                   error_callback_url, target_id, trace_parent AS schedule_trace_parent
            FROM scheduler.schedules WHERE id = r.schedule_id LIMIT 1
        ) s
        LEFT JOIN LATERAL (
            SELECT url, method, headers, body_template, timeout_seconds, signing_secret, rate_limit_per_second, max_concurrency,
                   completion, completion_timeout_seconds
            FROM scheduler.targets WHERE id = s.target_id LIMIT 1
        ) t ON true
        WHERE r.id = ANY ($1)
        """;

    private async Task<IReadOnlyDictionary<long, RunPlan>> LoadManyAsync(IReadOnlyList<long> runIds)
    {
        await using var command = new GenericPlanStatement(database, LoadSql);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = runIds.Distinct().ToArray() });
        var plans = new Dictionary<long, RunPlan>();
        await using var reader = await command.ExecuteReaderAsync();
        var row = new RowReader(reader);
        while (await row.ReadAsync())
        {
            var plan = ReadPlan(row);
            plans[plan.RunId] = plan;
        }
        return plans;
    }

    private RunPlan ReadPlan(RowReader row)
    {
        var hasTarget = !row.IsNull("url");
        return new RunPlan(
            RunId: row.Get<long>("id"),
            ScheduleId: row.Get<long>("schedule_id"),
            DueAt: row.Get<DateTimeOffset>("due_at"),
            Status: WireName.Parse<RunStatus>(row.Get<string>("status")),
            ScheduleType: WireName.Parse<ScheduleType>(row.Get<string>("schedule_type")),
            OverlapPolicy: WireName.Parse<OverlapPolicy>(row.Get<string>("overlap_policy")),
            ExpectedHttpStatus: row.Get<int[]>("expected_http_status"),
            NoResponse: row.Get<bool>("no_response"),
            JobName: row.OrNull<string>("job_name"),
            Url: hasTarget ? row.Get<string>("url") : null,
            Method: hasTarget ? row.Get<string>("method") : "GET",
            // Secrets are decrypted here, for the call, and nowhere else.
            Headers: hasTarget ? secrets.UnprotectHeaders(JsonSerializer.Deserialize<Dictionary<string, string>>(row.Get<string>("headers")) ?? []) : new Dictionary<string, string>(),
            Body: row.OrNull<string>("body_template"),
            TimeoutSeconds: hasTarget ? row.Get<int>("timeout_seconds") : options.Value.DefaultTimeoutSeconds,
            EarlierRunsActive: row.Get<int>("earlier_runs_active"))
        {
            AttemptCount = row.Get<int>("attempt_count"),
            NextAttemptAt = row.ValueOrNull<DateTimeOffset>("next_attempt_at"),
            MaxDelaySeconds = row.ValueOrNull<int>("max_delay_seconds"),
            MaxAttempts = row.ValueOrNull<int>("max_attempts"),
            RetryInitialIntervalSeconds = row.ValueOrNull<int>("retry_initial_interval_seconds"),
            RetryMaxIntervalSeconds = row.ValueOrNull<int>("retry_max_interval_seconds"),
            RetryRequested = row.Get<bool>("retry_requested"),
            JobArgs = row.OrNull<string>("job_args"),
            SigningSecret = row.OrNull<string>("signing_secret") is { } secret ? secrets.Unprotect(secret) : null,
            CallbackUrl = row.OrNull<string>("callback_url"),
            ErrorCallbackUrl = row.OrNull<string>("error_callback_url"),
            TargetId = row.ValueOrNull<long>("target_id"),
            RateLimitPerSecond = row.ValueOrNull<double>("rate_limit_per_second"),
            MaxConcurrency = row.ValueOrNull<int>("max_concurrency"),
            LimitTurnAt = row.ValueOrNull<DateTimeOffset>("limit_turn_at"),
            LimitWaitSince = row.ValueOrNull<DateTimeOffset>("limit_wait_since"),
            TraceParent = row.OrNull<string>("trace_parent"),
            ScheduleTraceParent = row.OrNull<string>("schedule_trace_parent"),
            Completion = row.OrNull<string>("completion") is { } completion ? WireName.Parse<CompletionMode>(completion) : CompletionMode.Response,
            CompletionTimeoutSeconds = row.ValueOrNull<int>("completion_timeout_seconds") ?? CompletionLimits.DefaultTimeoutSeconds,
        };
    }

    private static readonly string EarlierRunsActiveSql = $"""
        SELECT count(*)::int, max(id) FROM scheduler.runs
        WHERE schedule_id = $1 AND id <> $2 AND status IN ({Sql.UnfinishedRuns}) AND due_at < $3
        """;

    /// <summary>The earlier runs of the same schedule that have not ended, and the latest of them.</summary>
    public async Task<(int Count, long? LatestRunId)> EarlierRunsActiveAsync(RunPlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        await using var command = database.CreateCommand(EarlierRunsActiveSql);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = plan.ScheduleId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = plan.RunId });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = plan.DueAt });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var row = new RowReader(reader);
        await row.ReadAsync(cancellationToken);
        return (row.Get<int>("count"), row.ValueOrNull<long>("max"));
    }
}
