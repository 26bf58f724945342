using Npgsql;
using Scheduler.Core.Jobs;
using Scheduler.Core.Persistence;

namespace Scheduler.Tests.Core.Persistence;

/// <summary>
/// The set-based statements every run goes through (the worker's load, claim and outcome, the job ids' record) run with
/// PostgreSQL's generic plan, and the settings stay with them: checked on one pooled connection (prepared statements are
/// per connection) against the test database.
/// </summary>
public sealed class GenericPlanStatementTests
{
    // The load's shape: rows of an unnest array joined to runs by primary key.
    private const string ByIdsSql = "SELECT count(r.id) FROM unnest($1::bigint[]) AS i(id) LEFT JOIN scheduler.runs r ON r.id = i.id";

    private NpgsqlDataSource _database = null!;

    [SetUp]
    public void CreateDataSource() =>
        // One connection, prepared after three uses (as DatabaseConnections sets up the processes' pools).
        _database = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(TestAssemblySetup.ConnectionString)
        {
            MaxPoolSize = 1, MaxAutoPrepare = 8, AutoPrepareMinUsages = 3,
        }.ConnectionString);

    [TearDown]
    public void DisposeDataSource() => _database.Dispose();

    // Ids no run has (identity columns start at 1), whatever other tests left in the database.
    private static long[] Ids(int count) => Enumerable.Range(1, count).Select(n => -(long)n).ToArray();

    [Test]
    public async Task The_statement_is_never_planned_for_its_values_and_the_connection_keeps_auto()
    {
        for (var i = 1; i <= 12; i++)
        {
            await using var statement = new GenericPlanStatement(_database, ByIdsSql);
            statement.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = Ids(i) });
            await using var reader = await statement.ExecuteReaderAsync();
            Assert.That(await reader.ReadAsync(), Is.True, "the reader is on the statement's own row");
            Assert.That(reader.GetInt64(0), Is.Zero);
        }
        for (var i = 1; i <= 12; i++)
        {
            await using var plain = _database.CreateCommand(ByIdsSql.Replace("count(r.id)", "count(r.id) AS plain", StringComparison.Ordinal));
            plain.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = Ids(i) });
            await plain.ExecuteScalarAsync();
        }

        await using var connection = await _database.OpenConnectionAsync();
        await using var plans = new NpgsqlCommand(
            "SELECT statement LIKE '%plain%', generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%unnest%'", connection);
        await using var rows = await plans.ExecuteReaderAsync();
        var counts = new Dictionary<bool, (long Generic, long Custom)>();
        while (await rows.ReadAsync())
        {
            counts[rows.GetBoolean(0)] = (rows.GetInt64(1), rows.GetInt64(2));
        }
        await rows.CloseAsync();
        await using var setting = new NpgsqlCommand("SELECT current_setting('plan_cache_mode') || ' ' || current_setting('enable_seqscan')", connection);

        Assert.Multiple(async () =>
        {
            Assert.That(counts[false], Is.EqualTo((10L, 0L)), "prepared at its third use, then the generic plan every time");
            Assert.That(counts[true].Custom, Is.GreaterThan(0), "the same statement left to plan_cache_mode = auto is planned for its values");
            Assert.That(await setting.ExecuteScalarAsync(), Is.EqualTo("auto on"), "the settings end with the statement's transaction");
        });
    }

    [Test]
    public async Task On_a_table_never_analyzed_its_generic_plan_looks_rows_up_by_primary_key()
    {
        // A new system's tables: created, never analyzed. The same lookup, prepared twice on one connection, planned
        // generically with the server's settings and with the statement's own.
        await using var connection = await _database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        Task<string> RunAsync(string sql) => TestDatabase.LinesAsync(connection, transaction, sql);
        await RunAsync("CREATE TEMPORARY TABLE young (id bigint PRIMARY KEY, payload text) ON COMMIT DROP");
        const string Lookup = "SELECT count(y.payload) FROM unnest($1::bigint[]) AS i(id) JOIN young y ON y.id = i.id";
        await RunAsync($"PREPARE servers_settings AS {Lookup}");
        await RunAsync("SET LOCAL plan_cache_mode = force_generic_plan");
        var plain = await RunAsync("EXPLAIN (COSTS OFF) EXECUTE servers_settings('{1,2,3}')");
        await RunAsync($"PREPARE statements_settings AS {Lookup}");
        await RunAsync(GenericPlanStatement.SettingsSql);
        var own = await RunAsync("EXPLAIN (COSTS OFF) EXECUTE statements_settings('{1,2,3}')");

        Assert.Multiple(() =>
        {
            Assert.That(plain, Does.Contain("Seq Scan on young"), "what PostgreSQL plans for an empty table by itself");
            Assert.That(own, Does.Contain("young_pkey").And.Not.Contain("Seq Scan"), "the statement's generic plan");
        });
    }

    [Test]
    public async Task The_runs_job_ids_are_recorded_with_the_generic_plan()
    {
        var (targetId, scheduleId, runId) = await RunAsync();
        try
        {
            var enqueuer = new RunEnqueuer(new NumberedJobs(), _database, TimeProvider.System);
            for (var i = 0; i < 6; i++)
            {
                await enqueuer.EnqueueManyAsync([new RunToEnqueue(runId, scheduleId, DateTimeOffset.UtcNow)], CancellationToken.None);
            }

            await using var connection = await _database.OpenConnectionAsync();
            await using var plans = new NpgsqlCommand(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%hangfire_job_id = v.job_id%'", connection);
            await using var rows = await plans.ExecuteReaderAsync();
            Assert.That(await rows.ReadAsync(), Is.True, "the job ids' statement is prepared on the connection");
            var (generic, custom) = (rows.GetInt64(0), rows.GetInt64(1));
            await rows.CloseAsync();
            Assert.Multiple(async () =>
            {
                Assert.That((generic, custom), Is.EqualTo((4L, 0L)), "prepared at its third use, then the generic plan every time");
                Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT hangfire_job_id FROM scheduler.runs WHERE id = {runId}"), Is.EqualTo("6"),
                    "the last job's id is on the run");
            });
        }
        finally
        {
            await TestDatabase.ExecuteAsync($"DELETE FROM scheduler.schedules WHERE id = {scheduleId}; DELETE FROM scheduler.targets WHERE id = {targetId}");
        }
    }

    /// <summary>A target, a (paused) schedule and its PENDING run.</summary>
    private static async Task<(long TargetId, long ScheduleId, long RunId)> RunAsync()
    {
        await using var connection = await TestDatabase.OpenAsync();
        await using var insert = new NpgsqlCommand($$"""
            {{TestDatabase.WithPausedSchedule}}
            INSERT INTO scheduler.runs (schedule_id, due_at, status, trigger, attempt_count, retry_requested, remarks, created_at, updated_at)
            SELECT id, now(), 'PENDING', 'IMMEDIATE', 0, false, '{}', now(), now() FROM s RETURNING (SELECT id FROM t), schedule_id, id
            """, connection);
        await using var reader = await insert.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>Hangfire's client, numbering its jobs 1, 2, …: the statement under test is the one that records them.</summary>
    private sealed class NumberedJobs : Hangfire.IBackgroundJobClient
    {
        private int _created;

        public string Create(Hangfire.Common.Job job, Hangfire.States.IState state) => $"{Interlocked.Increment(ref _created)}";

        public bool ChangeState(string jobId, Hangfire.States.IState state, string expectedState) => true;
    }
}
