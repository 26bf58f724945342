using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Scheduler.Core.Hosting;

// Two fixtures at a time, each on its own database; a fixture's tests run one after another.
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(2)]

namespace Scheduler.Tests;

/// <summary>
/// Starts PostgreSQL once for the whole run and migrates it, the way the migrate command does: the default
/// database, and the template every fixture's own database is copied from (<see cref="FixtureDatabases"/>), which
/// lets two fixtures run at a time. A fixture that must run alone (it stops the server, counts the server's
/// connections, or builds the solution) is marked <c>[NonParallelizable]</c>.
/// </summary>
[SetUpFixture]
public sealed class TestAssemblySetup
{
    private static PostgresServer? s_server;

    /// <summary>The running fixture's own database (made on first use); the default database outside a fixture.</summary>
    public static string ConnectionString => FixtureDatabases.Current();

    [OneTimeSetUp]
    public async Task StartPostgresAsync()
    {
        s_server = await PostgresServer.StartAsync();
        PostgresServer.Current = s_server;
        await TestContext.Progress.WriteLineAsync($"PostgreSQL for the tests: {s_server.Description}");
        await FixtureDatabases.PrepareAsync(s_server.ConnectionString, MigrateAsync);
    }

    private static Task MigrateAsync(string connectionString)
    {
        var options = Options.Create(new DatabaseOptions { ConnectionString = connectionString, HangfireConnectionString = connectionString });
        return new DatabaseMigrator(options, new DatabaseConnections(options.Value, new EngineOptions(), "tests"), NullLogger<DatabaseMigrator>.Instance)
            .MigrateAsync(CancellationToken.None);
    }

    [OneTimeTearDown]
    public async Task StopPostgresAsync()
    {
        SchedulerProcess.KillAll();
        if (s_server is not null)
        {
            if (!s_server.RemovedAfterRun)
            {
                await FixtureDatabases.DropCreatedAsync();
            }
            await s_server.DisposeAsync();
        }
    }
}
