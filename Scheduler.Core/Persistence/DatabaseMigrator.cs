using Hangfire.PostgreSql;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Scheduler.Core.Hosting;
using Scheduler.Core.Jobs;

namespace Scheduler.Core.Persistence;

/// <summary>
/// The explicit schema step (<c>Scheduler.Api migrate</c>, compose's migrate service, the Kubernetes Job):
/// creates the database if it is missing, applies EF Core migrations to <c>scheduler</c> and installs
/// Hangfire's schema. Replicas never migrate at startup; they wait for <see cref="CheckAsync"/> to pass.
/// </summary>
public sealed class DatabaseMigrator(IOptions<DatabaseOptions> options, DatabaseConnections connections, ILogger<DatabaseMigrator> logger)
{
    private readonly DatabaseOptions _options = options.Value;

    // Migrations, the schema install and the schema check go straight to PostgreSQL on the session connection
    // strings (a migration's DDL and locks need a session, not a pooler in transaction mode), outside the pools:
    // a check at start and at most once a minute of probes (DatabaseReadiness), a migration once; neither leaves a
    // connection open behind it.
    private string Scheduler => connections.Session;

    private string Hangfire => connections.HangfireSession;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await EnsureDatabaseExistsAsync(Scheduler, cancellationToken);
        if (Hangfire != Scheduler)
        {
            await EnsureDatabaseExistsAsync(Hangfire, cancellationToken);
        }

        await using (var dataSource = NpgsqlDataSource.Create(Scheduler))
        await using (var db = CreateContext(dataSource))
        {
            var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
            await db.Database.MigrateAsync(cancellationToken);
            Log.MigrationsApplied(logger, pending.Count, pending.Count == 0 ? "none" : string.Join(", ", pending));

            // The built-in named jobs are known before any worker has started.
            foreach (var job in BuiltInJobs.All)
            {
                await db.Database.ExecuteSqlInterpolatedAsync($"""
                    INSERT INTO scheduler.job_types (name, description, args_example, args_spec, updated_at)
                    VALUES ({job.Name}, {job.Description}, {job.ArgsExample}::jsonb, {NamedJobArg.Serialize(job.Args)}::jsonb, now())
                    ON CONFLICT (name) DO UPDATE SET description = excluded.description, args_example = excluded.args_example, args_spec = excluded.args_spec
                    """, cancellationToken);
            }
        }

        await using (var connection = new NpgsqlConnection(Hangfire))
        {
            await connection.OpenAsync(cancellationToken);
            PostgreSqlObjectsInstaller.Install(connection, _options.HangfireSchema);
        }
        Log.HangfireSchemaInstalled(logger, _options.HangfireSchema);
    }

    /// <summary>What is missing for the processes to run; empty when the schema is current.</summary>
    public async Task<IReadOnlyList<string>> CheckAsync(CancellationToken cancellationToken)
    {
        var missing = new List<string>();
        await using (var dataSource = NpgsqlDataSource.Create(Scheduler))
        await using (var db = CreateContext(dataSource))
        {
            missing.AddRange((await db.Database.GetPendingMigrationsAsync(cancellationToken)).Select(m => $"migration {m}"));
        }
        await using (var connection = new NpgsqlConnection(Hangfire))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT to_regclass(@name) IS NOT NULL", connection);
            command.Parameters.AddWithValue("name", $"\"{_options.HangfireSchema}\".\"job\"");
            if (await command.ExecuteScalarAsync(cancellationToken) is not true)
            {
                missing.Add($"Hangfire schema '{_options.HangfireSchema}'");
            }
        }
        return missing;
    }

    internal static SchedulerDbContext CreateContext(NpgsqlDataSource dataSource)
    {
        var builder = new DbContextOptionsBuilder<SchedulerDbContext>();
        SchedulerDbContextOptions.Configure(builder, dataSource);
        return new SchedulerDbContext(builder.Options);
    }

    private async Task EnsureDatabaseExistsAsync(string connectionString, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            var target = new NpgsqlConnectionStringBuilder(connectionString);
            var database = target.Database!;
            var maintenance = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false };
            await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{database.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
            Log.DatabaseCreated(logger, database);
        }
    }
}
