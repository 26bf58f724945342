using System.Text;
using NpgsqlTypes;
using Scheduler.Core.Hosting;
using Scheduler.Core.Persistence;

namespace Scheduler.Core.Jobs;

/// <summary>Which dead letters a redrive takes: every condition given must hold (GET /runs's filters, and more).</summary>
/// <param name="ScheduleId">Runs of this schedule.</param>
/// <param name="Status">Runs ended in this unsuccessful state.</param>
/// <param name="DueFrom">Runs due at or after this.</param>
/// <param name="DueTo">Runs due at or before this.</param>
/// <param name="ErrorType">Runs whose last attempt failed so.</param>
/// <param name="RunIds">Only these runs (the dashboard's selection).</param>
public sealed record RedriveFilter(
    long? ScheduleId = null, RunStatus? Status = null, DateTimeOffset? DueFrom = null, DateTimeOffset? DueTo = null,
    ErrorType? ErrorType = null, IReadOnlyList<long>? RunIds = null);

/// <summary>What a redrive did.</summary>
/// <param name="Queued">Runs reopened and handed to Hangfire.</param>
/// <param name="LimitReached">The call stopped at its limit: more runs may match; call again.</param>
public sealed record RedriveResult(int Queued, bool LimitReached);

/// <summary>
/// Redrive: every run that ended unsuccessfully (<see cref="RunStatusExtensions.IsUnsuccessful"/>) and was not
/// retried since, among those a filter picks, gets one manual attempt now: reopened in one statement (the same
/// <c>SET</c> as a single retry, <see cref="RunStatements.ReopenSet"/>) and handed to Hangfire in batch jobs
/// like the dispatcher's. The API's <c>POST /runs/redrive</c> and the dashboard's dead letters share it. The
/// oldest due go first, at most <c>limit</c> a call. Runs being reopened elsewhere at the same moment are
/// skipped, not waited for.
/// </summary>
public sealed class RunRedrive(NpgsqlDataSource database, RunEnqueuer enqueuer, IOptions<SchedulingOptions> scheduling)
{
    public async Task<RedriveResult> RedriveAsync(RedriveFilter filter, int limit, string remark, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var command = database.CreateCommand();
        var conditions = new StringBuilder($"status IN ({Sql.UnsuccessfulRuns})");
        void Condition<T>(string sql, T value, NpgsqlDbType? type = null)
        {
            var parameter = new NpgsqlParameter<T> { TypedValue = value };
            if (type is { } t)
            {
                parameter.NpgsqlDbType = t;
            }
            command.Parameters.Add(parameter);
            conditions.Append(" AND ").Append(sql.Replace("$$", $"${command.Parameters.Count}", StringComparison.Ordinal));
        }
        if (filter.ScheduleId is { } scheduleId)
        {
            Condition("schedule_id = $$", scheduleId);
        }
        if (filter.Status is { } status)
        {
            Condition("status = $$", WireName.Of(status));
        }
        if (filter.DueFrom is { } from)
        {
            Condition("due_at >= $$", from);
        }
        if (filter.DueTo is { } to)
        {
            Condition("due_at <= $$", to);
        }
        if (filter.ErrorType is { } errorType)
        {
            Condition("error_type = $$", WireName.Of(errorType));
        }
        if (filter.RunIds is { } ids)
        {
            Condition("id = ANY ($$)", ids.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Bigint);
        }
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = remark });
        var limitParameter = $"${command.Parameters.Count - 1}";
        var remarkParameter = $"${command.Parameters.Count}";
        command.CommandText = $"""
            WITH picked AS (
                SELECT id FROM scheduler.runs WHERE {conditions}
                ORDER BY due_at, id LIMIT {limitParameter}
                FOR UPDATE SKIP LOCKED
            )
            UPDATE scheduler.runs r SET {RunStatements.ReopenSet(remarkParameter)}
            FROM picked WHERE r.id = picked.id
            RETURNING r.id, r.schedule_id, r.due_at
            """;
        var runs = new List<RunToEnqueue>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                runs.Add(new RunToEnqueue(reader.GetInt64(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2)));
            }
        }
        // Committed first: a process dying before the jobs exist leaves PENDING runs that reconciliation queues.
        await enqueuer.EnqueueManyAsync(runs, cancellationToken, scheduling.Value.MaxRunsPerJob);
        return new RedriveResult(runs.Count, runs.Count == limit);
    }
}
