using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Scheduler.Core.Hosting;

namespace Scheduler.Tests;

/// <summary>Starts PostgreSQL once for the whole run and migrates it, the way the migrate command does.</summary>
[SetUpFixture]
public sealed class TestAssemblySetup
{
    private static PostgresServer? s_server;

    public static string ConnectionString => s_server?.ConnectionString
        ?? throw new InvalidOperationException("PostgreSQL has not been started (TestAssemblySetup did not run).");

    [OneTimeSetUp]
    public async Task StartPostgresAsync()
    {
        s_server = await PostgresServer.StartAsync();
        PostgresServer.Current = s_server;
        await TestContext.Progress.WriteLineAsync($"PostgreSQL for the tests: {s_server.Description}");
        var options = Options.Create(new DatabaseOptions { ConnectionString = ConnectionString, HangfireConnectionString = ConnectionString });
        await new DatabaseMigrator(options, new DatabaseConnections(options.Value, new EngineOptions(), "tests"), NullLogger<DatabaseMigrator>.Instance)
            .MigrateAsync(CancellationToken.None);
    }

    [OneTimeTearDown]
    public async Task StopPostgresAsync()
    {
        SchedulerProcess.KillAll();
        if (s_server is not null)
        {
            await s_server.DisposeAsync();
        }
    }
}
