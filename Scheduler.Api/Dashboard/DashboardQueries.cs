using Npgsql;
using NpgsqlTypes;

namespace Scheduler.Api.Dashboard;

/// <summary>A schedule as the schedules page lists it, with its runs of the last 24 hours.</summary>
internal sealed record ScheduleRow(
    long Id, string? Name, ScheduleType Type, ScheduleStatus Status, string Timing, DateTimeOffset? NextRunAt,
    long? LastRunId, RunStatus? LastRunStatus, long Runs, long Succeeded, long Failed, double? LatenessP50Ms, double? LatenessP99Ms);

/// <summary>A run as the runs and dead-letters pages list it.</summary>
internal sealed record RunRow(
    long Id, long ScheduleId, string? ScheduleName, RunStatus Status, DateTimeOffset DueAt, double? LatenessMs, int? StatusCode,
    ErrorType? ErrorType, string? ErrorMessage, int AttemptCount, string Host);

/// <summary>How many dead letters share an error type and a target host.</summary>
internal sealed record DeadLetterGroup(ErrorType? ErrorType, string Host, long Count, DateTimeOffset Latest);

/// <summary>Lateness of one schedule kind's runs: bucket counts and percentiles.</summary>
internal sealed record LatenessByKind(ScheduleType Type, long Runs, double? P50Ms, double? P99Ms, double? MaxMs, long[] Buckets);

/// <summary>
/// What the dashboard pages read. Every statement is bounded by an index: runs by (status, due_at) over a time
/// range or by (schedule_id, due_at); schedules by id. Nothing scans the whole history.
/// </summary>
internal sealed class DashboardQueries(NpgsqlDataSource database)
{
    /// <summary>The upper bounds (ms) of the lateness histogram's buckets; the last bucket is everything above.</summary>
    public static readonly double[] LatenessBuckets = [10, 50, 100, 250, 500, 1000, 5000];

    private static readonly string[] AllRunStatuses = [.. WireName.Values<RunStatus>()];

    // The target's host, or the named job a schedule runs instead.
    private const string HostSql = """
        COALESCE(substring(t.url from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/]*@)?(\[[^]]*\]|[^:/?#]*)'), 'job ' || s.job_name, '?')
        """;

    private static readonly string SchedulesSql = $"""
        SELECT s.id, s.name, s.schedule_type, s.status, s.run_at, s.interval_seconds, s.start_at, s.end_at, s.cron_expression,
               s.time_zone, s.next_run_at, last.id, last.status, st.total, st.succeeded, st.failed, st.p50, st.p99
        FROM scheduler.schedules s
        LEFT JOIN LATERAL (
            SELECT r.id, r.status FROM scheduler.runs r
            WHERE r.schedule_id = s.id AND r.status NOT IN ({Sql.UnfinishedRuns})
            ORDER BY r.due_at DESC LIMIT 1) last ON true
        LEFT JOIN LATERAL (
            SELECT count(*) AS total,
                   count(*) FILTER (WHERE r.status = {Sql.Literal(RunStatus.Success)}) AS succeeded,
                   count(*) FILTER (WHERE r.status IN ({Sql.UnsuccessfulRuns})) AS failed,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY r.lateness_ms) AS p50,
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY r.lateness_ms) AS p99
            FROM scheduler.runs r
            WHERE r.schedule_id = s.id AND r.due_at >= now() - interval '24 hours') st ON true
        WHERE s.deleted_at IS NULL
          AND ($1::text IS NULL OR s.status = $1)
          AND ($2::text IS NULL OR s.schedule_type = $2)
          AND ($3::text IS NULL OR strpos(lower(s.name), lower($3)) > 0)
        ORDER BY s.id DESC
        LIMIT $4 OFFSET $5
        """;

    private static readonly string RunsSql = $"""
        SELECT r.id, r.schedule_id, s.name, r.status, r.due_at, r.lateness_ms, r.status_code, r.error_type, r.error_message,
               r.attempt_count, {HostSql}
        FROM scheduler.runs r
        JOIN scheduler.schedules s ON s.id = r.schedule_id
        LEFT JOIN scheduler.targets t ON t.id = s.target_id
        WHERE r.status = ANY($1) AND r.due_at >= $2 AND r.due_at <= $3 AND ($4::bigint IS NULL OR r.schedule_id = $4)
        ORDER BY r.due_at DESC, r.id DESC
        LIMIT $5 OFFSET $6
        """;

    private static readonly string DeadLetterGroupsSql = $"""
        SELECT r.error_type, {HostSql} AS host, count(*), max(r.due_at)
        FROM scheduler.runs r
        JOIN scheduler.schedules s ON s.id = r.schedule_id
        LEFT JOIN scheduler.targets t ON t.id = s.target_id
        WHERE r.status IN ({Sql.UnsuccessfulRuns}) AND r.due_at >= $1 AND r.due_at <= $2
        GROUP BY 1, 2
        ORDER BY 3 DESC, 1, 2
        """;

    // Runs of the last hour by their due time, through the (status, due_at) index, one range per status.
    private static readonly string LatenessSql = $"""
        SELECT s.schedule_type, count(*),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY r.lateness_ms),
               percentile_cont(0.99) WITHIN GROUP (ORDER BY r.lateness_ms),
               max(r.lateness_ms)
        FROM scheduler.runs r
        JOIN scheduler.schedules s ON s.id = r.schedule_id
        WHERE r.status = ANY($1) AND r.due_at >= now() - interval '1 hour' AND r.lateness_ms IS NOT NULL
        GROUP BY s.schedule_type
        ORDER BY s.schedule_type
        """;

    private static readonly string LatenessBucketsSql = """
        SELECT s.schedule_type, width_bucket(r.lateness_ms, $2::float8[]), count(*)
        FROM scheduler.runs r
        JOIN scheduler.schedules s ON s.id = r.schedule_id
        WHERE r.status = ANY($1) AND r.due_at >= now() - interval '1 hour' AND r.lateness_ms IS NOT NULL
        GROUP BY 1, 2
        """;

    public async Task<List<ScheduleRow>> SchedulesAsync(
        ScheduleStatus? status, ScheduleType? type, string? name, int limit, int offset, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(SchedulesSql);
        command.Parameters.Add(Text(status is { } st ? WireName.Of(st) : null));
        command.Parameters.Add(Text(type is { } ty ? WireName.Of(ty) : null));
        command.Parameters.Add(Text(name));
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = offset });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<ScheduleRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var kind = WireName.Parse<ScheduleType>(reader.GetString(2));
            var timing = ScheduleTimingText.Describe(kind, Get<DateTimeOffset?>(reader, 4), Get<int?>(reader, 5),
                Get<DateTimeOffset?>(reader, 6), Get<DateTimeOffset?>(reader, 7), Get<string?>(reader, 8), Get<string?>(reader, 9));
            rows.Add(new ScheduleRow(
                reader.GetInt64(0), Get<string?>(reader, 1), kind, WireName.Parse<ScheduleStatus>(reader.GetString(3)), timing,
                Get<DateTimeOffset?>(reader, 10), Get<long?>(reader, 11),
                reader.IsDBNull(12) ? null : WireName.Parse<RunStatus>(reader.GetString(12)),
                reader.GetInt64(13), reader.GetInt64(14), reader.GetInt64(15), Get<double?>(reader, 16), Get<double?>(reader, 17)));
        }
        return rows;
    }

    /// <summary>Runs due in [from, to], latest first, of the given statuses (all when empty) and schedule.</summary>
    public async Task<List<RunRow>> RunsAsync(
        IReadOnlyCollection<RunStatus> statuses, DateTimeOffset from, DateTimeOffset to, long? scheduleId, int limit, int offset,
        CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(RunsSql);
        command.Parameters.Add(new NpgsqlParameter<string[]>
        {
            TypedValue = statuses.Count == 0 ? AllRunStatuses : [.. statuses.Select(WireName.Of)],
            NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text,
        });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = from });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = to });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)scheduleId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = offset });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<RunRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new RunRow(
                reader.GetInt64(0), reader.GetInt64(1), Get<string?>(reader, 2), WireName.Parse<RunStatus>(reader.GetString(3)),
                reader.GetFieldValue<DateTimeOffset>(4), Get<double?>(reader, 5), Get<int?>(reader, 6),
                reader.IsDBNull(7) ? null : WireName.Parse<ErrorType>(reader.GetString(7)), Get<string?>(reader, 8),
                reader.GetInt32(9), reader.GetString(10)));
        }
        return rows;
    }

    /// <summary>The dead letters due in [from, to], counted by error type and target host.</summary>
    public async Task<List<DeadLetterGroup>> DeadLetterGroupsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(DeadLetterGroupsSql);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = from });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = to });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var groups = new List<DeadLetterGroup>();
        while (await reader.ReadAsync(cancellationToken))
        {
            groups.Add(new DeadLetterGroup(reader.IsDBNull(0) ? null : WireName.Parse<ErrorType>(reader.GetString(0)),
                reader.GetString(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }
        return groups;
    }

    /// <summary>Lateness of the runs due in the last hour that have started, per schedule kind.</summary>
    public async Task<List<LatenessByKind>> LatenessLastHourAsync(CancellationToken cancellationToken)
    {
        var buckets = new Dictionary<string, long[]>();
        await using (var command = LatenessCommand(LatenessBucketsSql))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var counts = buckets.TryGetValue(reader.GetString(0), out var known) ? known : buckets[reader.GetString(0)] = new long[LatenessBuckets.Length + 1];
                counts[reader.GetInt32(1)] = reader.GetInt64(2);
            }
        }
        var kinds = new List<LatenessByKind>();
        await using (var command = LatenessCommand(LatenessSql))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                kinds.Add(new LatenessByKind(WireName.Parse<ScheduleType>(reader.GetString(0)), reader.GetInt64(1),
                    Get<double?>(reader, 2), Get<double?>(reader, 3), Get<double?>(reader, 4),
                    buckets.GetValueOrDefault(reader.GetString(0)) ?? new long[LatenessBuckets.Length + 1]));
            }
        }
        return kinds;
    }

    private NpgsqlCommand LatenessCommand(string sql)
    {
        var command = database.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = AllRunStatuses, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        if (sql == LatenessBucketsSql)
        {
            command.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = LatenessBuckets });
        }
        return command;
    }

    private static NpgsqlParameter Text(string? value) =>
        new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    private static T Get<T>(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? default! : reader.GetFieldValue<T>(ordinal);
}
