using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Scheduler.Api.Endpoints;

/// <summary>Metrics in seed 001's JSON shape, with lateness added.</summary>
public static class MetricsApi
{
    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/metrics").WithTags("Metrics");
        api.MapGet("", GetMetrics).WithName("GetMetrics").WithSummary("System metrics (seed 001), with lateness over the last hour.");
        api.MapGet("/schedules", GetScheduleMetrics).WithName("GetScheduleMetrics").WithSummary("Per-schedule metrics (seed 001), with lateness.");
        return app;
    }

    /// <summary>
    /// Seed 001's counts, plus lateness (call start minus due time). The run figures cover a window, not the whole
    /// history: runs due in the last 24 hours, and for latency and lateness runs due in the last hour.
    /// <c>success_rate</c> is the percentage of the window's finished runs (not skipped or cancelled) that succeeded.
    /// </summary>
    public sealed record SystemMetrics(
        int TotalTargets,
        int TotalSchedules,
        int ActiveSchedules,
        int PausedSchedules,
        int StoppedSchedules,
        int CompletedSchedules,
        long TotalRuns,
        long RunsLastHour,
        double SuccessRate,
        double? AvgLatencyMs,
        double? LatenessP50MsLastHour,
        double? LatenessP99MsLastHour,
        double? LatenessMaxMsLastHour,
        long PendingRuns,
        long RunningRuns,
        DateTimeOffset? LastReconciliationAt,
        int? LastReconciliationRepaired,
        long ReconciliationRepairsLast24h);

    public sealed record ScheduleMetrics(
        long ScheduleId,
        string? ScheduleName,
        long TotalRuns,
        long SuccessfulRuns,
        long FailedRuns,
        long SkippedRuns,
        double? AvgLatencyMs,
        DateTimeOffset? LastRunAt,
        double? LatenessP50Ms,
        double? LatenessP99Ms);

    /// <summary>
    /// Every figure reads a bounded range, so the cost follows the traffic of the last day, not the history: the run
    /// counts are runs due in the last 24 hours, latency and lateness runs due in the last hour, both through
    /// <c>ix_runs_status_due_at</c> (each status, from the window's start); pending and running runs the queue
    /// through the same index; reconciliations the last day through <c>ix_reconciliations_finished_at</c>.
    /// </summary>
    private static readonly string ScheduleMetricsSql = $"""
            SELECT s.id AS schedule_id, s.name AS schedule_name,
                   count(r.id) AS total_runs,
                   count(r.id) FILTER (WHERE r.status = {Sql.Literal(RunStatus.Success)}) AS successful_runs,
                   count(r.id) FILTER (WHERE r.status IN ({Sql.UnsuccessfulRuns})) AS failed_runs,
                   count(r.id) FILTER (WHERE r.status = {Sql.Literal(RunStatus.Skipped)}) AS skipped_runs,
                   round(avg(r.latency_ms)::numeric, 3)::float8 AS avg_latency_ms,
                   s.last_run_at,
                   round((percentile_cont(0.5) WITHIN GROUP (ORDER BY r.lateness_ms))::numeric, 3)::float8 AS lateness_p50_ms,
                   round((percentile_cont(0.99) WITHIN GROUP (ORDER BY r.lateness_ms))::numeric, 3)::float8 AS lateness_p99_ms
            FROM scheduler.schedules s
            LEFT JOIN scheduler.runs r ON r.schedule_id = s.id
            WHERE s.deleted_at IS NULL
            GROUP BY s.id
            ORDER BY s.id
            """;

    internal static readonly string SystemMetricsSql = $"""
        SELECT
          (SELECT count(*)::int FROM scheduler.targets WHERE deleted_at IS NULL AND NOT inline) AS total_targets,
          s.total AS total_schedules, s.active AS active_schedules, s.paused AS paused_schedules,
          s.stopped AS stopped_schedules, s.completed AS completed_schedules,
          r.total AS total_runs, r.last_hour AS runs_last_hour,
          CASE WHEN r.finished = 0 THEN 0 ELSE round(100.0 * r.succeeded / r.finished, 2)::float8 END AS success_rate,
          round(l.avg_latency::numeric, 3)::float8 AS avg_latency_ms,
          round(l.p50::numeric, 3)::float8 AS lateness_p50_ms_last_hour,
          round(l.p99::numeric, 3)::float8 AS lateness_p99_ms_last_hour,
          round(l.max::numeric, 3)::float8 AS lateness_max_ms_last_hour,
          (SELECT count(*) FROM scheduler.runs WHERE status = {Sql.Literal(RunStatus.Pending)}) AS pending_runs,
          (SELECT count(*) FROM scheduler.runs WHERE status = {Sql.Literal(RunStatus.Running)}) AS running_runs,
          lr.finished_at, lr.repaired,
          (SELECT COALESCE(sum(repaired), 0)::bigint FROM scheduler.reconciliations WHERE finished_at > now() - interval '1 day')
        FROM
          (SELECT count(*)::int AS total,
                  count(*) FILTER (WHERE status = {Sql.Literal(ScheduleStatus.Active)})::int AS active,
                  count(*) FILTER (WHERE status = {Sql.Literal(ScheduleStatus.Paused)})::int AS paused,
                  count(*) FILTER (WHERE status = {Sql.Literal(ScheduleStatus.Stopped)})::int AS stopped,
                  count(*) FILTER (WHERE status = {Sql.Literal(ScheduleStatus.Completed)})::int AS completed
           FROM scheduler.schedules WHERE deleted_at IS NULL) s,
          (SELECT count(*) AS total,
                  count(*) FILTER (WHERE due_at >= now() - interval '1 hour') AS last_hour,
                  count(*) FILTER (WHERE status = {Sql.Literal(RunStatus.Success)}) AS succeeded,
                  count(*) FILTER (WHERE status NOT IN ({Sql.Literals(RunStatus.Pending, RunStatus.Running, RunStatus.Skipped, RunStatus.Cancelled)})) AS finished
           FROM scheduler.runs
           WHERE status IN ({Sql.Literals(Enum.GetValues<RunStatus>())}) AND due_at >= now() - interval '24 hours') r,
          (SELECT avg(latency_ms) AS avg_latency,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY lateness_ms) AS p50,
                  percentile_cont(0.99) WITHIN GROUP (ORDER BY lateness_ms) AS p99,
                  max(lateness_ms) AS max
           FROM scheduler.runs
           WHERE status IN ({Sql.Literals(Enum.GetValues<RunStatus>())}) AND due_at >= now() - interval '1 hour') l
          LEFT JOIN LATERAL (SELECT finished_at, repaired FROM scheduler.reconciliations ORDER BY finished_at DESC LIMIT 1) lr ON true
        """;

    public static async Task<Ok<SystemMetrics>> GetMetrics(NpgsqlDataSource database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await using var command = database.CreateCommand(SystemMetricsSql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return TypedResults.Ok(new SystemMetrics(
            reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4), reader.GetInt32(5),
            reader.GetInt64(6), reader.GetInt64(7), reader.GetDouble(8), NullableDouble(reader, 9), NullableDouble(reader, 10),
            NullableDouble(reader, 11), NullableDouble(reader, 12), reader.GetInt64(13), reader.GetInt64(14),
            reader.IsDBNull(15) ? null : reader.GetFieldValue<DateTimeOffset>(15), reader.IsDBNull(16) ? null : reader.GetInt32(16),
            reader.GetInt64(17)));
    }

    public static async Task<Ok<List<ScheduleMetrics>>> GetScheduleMetrics(NpgsqlDataSource database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await using var command = database.CreateCommand(ScheduleMetricsSql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var metrics = new List<ScheduleMetrics>();
        while (await reader.ReadAsync(cancellationToken))
        {
            metrics.Add(new ScheduleMetrics(
                reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3),
                reader.GetInt64(4), reader.GetInt64(5), NullableDouble(reader, 6),
                reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7), NullableDouble(reader, 8), NullableDouble(reader, 9)));
        }
        return TypedResults.Ok(metrics);
    }

    private static double? NullableDouble(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);
}
