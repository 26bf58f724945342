using Npgsql;
using Scheduler.Core.Persistence;
using Scheduler.Worker.Runs.Store;

namespace Scheduler.Tests.Worker.Runs.Store;

/// <summary>The worker's load of a run's plan (its run, schedule and target), as PostgreSQL plans it.</summary>
public sealed class RunPlanQueryTests
{
    [Test]
    public async Task On_tables_never_analyzed_the_load_looks_each_schedule_and_target_up_by_key()
    {
        // A new system's tables: empty and never analyzed, as temporary copies of runs, schedules and targets with their
        // indexes are. The load's generic plan on them, made as the worker makes it (GenericPlanStatement's settings).
        await using var connection = await TestDatabase.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        Task<string> RunAsync(string sql) => TestDatabase.LinesAsync(connection, transaction, sql);
        foreach (var table in new[] { "runs", "schedules", "targets" })
        {
            await RunAsync($"CREATE TEMPORARY TABLE {table} (LIKE scheduler.{table} INCLUDING DEFAULTS INCLUDING INDEXES) ON COMMIT DROP");
        }
        await RunAsync($"PREPARE load_plan AS {RunPlanQuery.LoadSql.Replace("scheduler.", "pg_temp.", StringComparison.Ordinal)}");
        await RunAsync(GenericPlanStatement.SettingsSql);
        var plan = await RunAsync("EXPLAIN (COSTS OFF) EXECUTE load_plan('{1,2,3}')");

        Assert.Multiple(() =>
        {
            Assert.That(plan, Does.Contain("Index Scan using schedules_pkey on schedules"), "each run's schedule by its key");
            Assert.That(plan, Does.Contain("Index Scan using targets_pkey on targets"), "each schedule's target by its key");
            Assert.That(plan, Does.Not.Contain("Hash").And.Not.Contain("Seq Scan"), "no table read whole to be hashed and joined");
        });
    }
}
