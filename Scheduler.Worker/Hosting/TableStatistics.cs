namespace Scheduler.Worker.Hosting;

/// <summary>
/// Keeps PostgreSQL's statistics of growing tables current: every <see cref="DatabaseOptions.StatisticsInterval"/>,
/// an <c>ANALYZE</c> of each table of Scheduler's and Hangfire's schemas whose size doubled since its statistics
/// were taken (from 64 KB on), of the columns its indexes use (keys, expressions, predicates).
/// </summary>
/// <remarks>
/// PostgreSQL keeps a generic plan per statement and connection, made for the table sizes of the moment. Made while
/// a young system's runs and attempts held a few hundred rows, it reads them whole for every batch afterwards,
/// until an <c>ANALYZE</c> makes every connection plan again; autovacuum's comes up to a minute later, and a burst
/// does not wait. Measured after a 15,000-run warm-up (<c>pg_stat_statements</c>, <c>auto_explain</c>): the outcome
/// statement took 7.2 ms a call over sequential scans of 18,000 runs and attempts and 0.7 ms once analyzed, and the
/// CPU of a run fell from 1.62 to 1.05 ms. Doubling keeps it rare: a table of 1 GB has been analyzed 14 times.
/// <c>SKIP_LOCKED</c> leaves a table another worker or autovacuum is analyzing, and only the tables this role may
/// analyze (its own) are looked at.
/// <para>
/// Only the indexed columns: they are what the plans choose between (which index, how many rows a key or a status
/// matches), and the table's size and row count are taken either way. The other columns (a run's output, remarks,
/// errors; a schedule's forty) cost most of an <c>ANALYZE</c> and keep the statistics autovacuum gives them. Measured on
/// a system after 18,000 runs: 46–48 ms for the four tables of a run against 155 ms for all their columns, and a doubling
/// falls within a burst (docs/performance.md).
/// </para>
/// </remarks>
internal sealed class TableStatistics(
    NpgsqlDataSource scheduler, DatabaseConnections connections, IOptions<DatabaseOptions> options, TimeProvider time, ILogger<TableStatistics> logger)
    : BackgroundService
{
    /// <summary>Below this many 8 KB pages a table is read whole by any plan, and is not analyzed for growing.</summary>
    internal const int SmallestPages = 8;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.StatisticsInterval;
        if (interval == TimeSpan.Zero)
        {
            return;
        }
        // Each schema through its own pool (Scheduler's data source, Hangfire's connection string), so the worker opens
        // no connection beyond its budget (DatabaseConnections.MostOpenAtOnce).
        var schemas = new (Func<CancellationToken, ValueTask<NpgsqlConnection>> Open, string Name)[]
        {
            (scheduler.OpenConnectionAsync, "scheduler"),
            (OpenHangfireAsync, options.Value.HangfireSchema),
        };
        using var timer = new PeriodicTimer(interval, time);
        var failing = false;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                foreach (var (open, schema) in schemas)
                {
                    await using var connection = await open(stoppingToken);
                    var analyzed = await AnalyzeGrownAsync(connection, schema, stoppingToken);
                    if (analyzed.Count > 0)
                    {
                        Log.TablesAnalyzed(logger, string.Join(", ", analyzed));
                    }
                }
                failing = false;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Never fatal: a BackgroundService that throws stops the host, and this only saves the database work.
                // Said once per outage: the dispatcher and the jobs say more about a database that is away.
                if (!failing)
                {
                    Log.TablesNotAnalyzed(logger, ex.Message, interval);
                }
                failing = true;
            }
        }
    }

    private async ValueTask<NpgsqlConnection> OpenHangfireAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connections.Hangfire);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    // pg_class.relpages is the size the last ANALYZE (or VACUUM) saw; 0 for a table never analyzed or truncated since.
    // The indexed columns: an index's key columns (indkey), and those of its expressions and predicate, which
    // PostgreSQL records as the index's dependencies on the table's columns.
    private const string GrownSql = """
        SELECT c.oid::regclass::text,
               (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                  AND (EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND a.attnum = ANY (i.indkey))
                       OR EXISTS (SELECT 1 FROM pg_index i JOIN pg_depend d ON d.objid = i.indexrelid
                                  WHERE i.indrelid = c.oid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                                    AND d.refobjid = c.oid AND d.refobjsubid = a.attnum)))
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind = 'r' AND pg_has_role(c.relowner, 'USAGE')
          AND pg_relation_size(c.oid) / current_setting('block_size')::bigint >= greatest($2, 2 * c.relpages::bigint)
        ORDER BY 1
        """;

    /// <summary>Analyzes the tables of <paramref name="schema"/> that doubled in size since their statistics were taken (their indexed columns); returns their names.</summary>
    internal static async Task<IReadOnlyList<string>> AnalyzeGrownAsync(NpgsqlConnection connection, string schema, CancellationToken cancellationToken)
    {
        var grown = new List<(string Table, string? Columns)>();
        await using (var command = new NpgsqlCommand(GrownSql, connection))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = schema });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = SmallestPages });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                grown.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)));
            }
        }
        if (grown.Count > 0)
        {
            // The names are regclass's and quote_ident's own output, quoted where needed; a table without an index
            // is analyzed whole. Outside a transaction block, each table is analyzed in a transaction of its own, so
            // no lock is held on one while another is read.
            var tables = grown.Select(g => g.Columns is null ? g.Table : $"{g.Table} ({g.Columns})");
            await using var analyze = new NpgsqlCommand($"ANALYZE (SKIP_LOCKED) {string.Join(", ", tables)}", connection);
            await analyze.ExecuteNonQueryAsync(cancellationToken);
        }
        return [.. grown.Select(g => g.Table)];
    }
}
