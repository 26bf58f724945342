namespace Scheduler.Core.Persistence;

/// <summary>
/// A statement that PostgreSQL runs with its generic plan, made once per connection, instead of planning it again
/// for each batch's arrays: for the set-based statements of every run (the worker's load, claim and outcome, and the
/// statement that records the runs' Hangfire job ids), whose plans look runs up by primary key whatever the arrays hold.
/// </summary>
/// <remarks>
/// Left to itself (<c>plan_cache_mode = auto</c>), PostgreSQL compares the generic plan's cost with the custom plans'
/// and keeps planning each execution when a custom plan looks cheaper. For these statements it often does: a custom
/// plan sees the length of each <c>unnest</c> array, the generic one assumes 10 rows. Measured
/// (<c>pg_stat_statements</c>, 3,000 runs after a 15,000-run warm-up): the outcome statement was planned on half of its
/// executions, about 1 ms each, and planning was 0.13–0.16 ms of PostgreSQL's time a run. The setting is made with
/// <c>set_config(…, true)</c> in the same batch, so it holds for this statement's transaction only; every other
/// statement of the connection keeps <c>auto</c>.
/// <para>
/// The generic plan is also made with <c>enable_seqscan = off</c>, for the same transaction only. A generic plan is
/// kept until an <c>ANALYZE</c> of its tables; one made while a new system's tables are empty reads them whole
/// (sequential scans of runs, attempts and schedules are cheapest for a few pages), and in a first burst they grow by
/// megabytes a second before the worker's <c>TableStatistics</c> analyzes them. With sequential scans priced out the
/// plans on empty tables look runs, attempts and schedules up by primary key, as the plans on analyzed tables do (on
/// those the setting changes no plan: checked with <c>EXPLAIN</c> on a system after 6,000 runs). Measured
/// (<c>pg_stat_statements</c>, a fresh system's first 3,000 runs): the outcome read 370 blocks a call against 765, as
/// many as on a warm system (390–440).
/// </para>
/// </remarks>
public sealed class GenericPlanStatement : IAsyncDisposable
{
    /// <summary>The settings the statement is planned and run with, for its own transaction.</summary>
    public const string SettingsSql = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true)";

    private readonly NpgsqlBatch _batch;

    public GenericPlanStatement(NpgsqlDataSource database, string sql)
    {
        ArgumentNullException.ThrowIfNull(database);
        _batch = database.CreateBatch();
        _batch.BatchCommands.Add(new NpgsqlBatchCommand(SettingsSql));
        _batch.BatchCommands.Add(new NpgsqlBatchCommand(sql));
    }

    public NpgsqlParameterCollection Parameters => _batch.BatchCommands[1].Parameters;

    /// <summary>Runs the statement; the reader is on its rows.</summary>
    public async Task<NpgsqlDataReader> ExecuteReaderAsync(CancellationToken cancellationToken = default)
    {
        var reader = await _batch.ExecuteReaderAsync(cancellationToken);
        try
        {
            await reader.NextResultAsync(cancellationToken);
            return reader;
        }
        catch
        {
            await reader.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a statement that returns no rows.</summary>
    public Task ExecuteNonQueryAsync(CancellationToken cancellationToken = default) => _batch.ExecuteNonQueryAsync(cancellationToken);

    public ValueTask DisposeAsync() => _batch.DisposeAsync();
}
