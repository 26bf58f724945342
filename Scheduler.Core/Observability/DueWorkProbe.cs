using Microsoft.Extensions.Logging;
using Scheduler.Core.Persistence;

namespace Scheduler.Core.Observability;

/// <summary>What is waiting: runs due and not started, and how far behind the dispatchers are.</summary>
public sealed record DueWork(long DueRuns, double DispatchLagSeconds);

/// <summary>
/// Reads <see cref="DueWork"/> for the queue gauges: one statement, each part served by an index
/// (<c>ix_runs_status_due_at</c>, the partial <c>ix_schedules_due</c>), the count capped so a huge backlog
/// costs no more than <see cref="CountCap"/> index entries; at most once per <c>Metrics:GaugeRefresh</c>, however
/// often it is scraped (a scrape in between gets the last reading). A failed read keeps the last reading.
/// </summary>
public sealed class DueWorkProbe(NpgsqlDataSource database, TimeProvider time, IOptions<MetricsOptions> options, ILogger<DueWorkProbe> logger)
{
    /// <summary>The due-runs count stops here: past a million the number says "overwhelmed" well enough.</summary>
    public const int CountCap = 1_000_000;

    private static readonly string Query = $"""
        SELECT
          (SELECT count(*) FROM (SELECT 1 FROM scheduler.runs
              WHERE status = {Sql.Literal(RunStatus.Pending)} AND due_at <= now() AND COALESCE(next_attempt_at, due_at) <= now()
              LIMIT {CountCap}) AS due) AS due_runs,
          COALESCE(EXTRACT(EPOCH FROM now() - (SELECT min(next_run_at) FROM scheduler.schedules
              WHERE status = {Sql.Literal(ScheduleStatus.Active)} AND deleted_at IS NULL AND next_run_at <= now())), 0)::float8 AS dispatch_lag
        """;

    private readonly Lock _lock = new();
    private DueWork? _last;
    private DateTimeOffset _readAt = DateTimeOffset.MinValue;

    /// <summary>The latest reading, read now if older than the refresh period; null until one succeeded.</summary>
    public DueWork? Read()
    {
        // Observable instruments are read synchronously during a collection; the statement is short and bounded.
        lock (_lock)
        {
            var now = time.GetUtcNow();
            if (now - _readAt < options.Value.GaugeRefresh)
            {
                return _last;
            }
            _readAt = now;
            try
            {
                using var command = database.CreateCommand(Query);
                command.CommandTimeout = 5;
                using var reader = command.ExecuteReader();
                reader.Read();
                _last = new DueWork(reader.GetInt64(0), reader.GetDouble(1));
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                Log.DueWorkUnread(logger, ex.Message);
            }
            return _last;
        }
    }
}
