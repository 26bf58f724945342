using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Scheduler.Core.Persistence;

namespace Scheduler.Core.Hosting;

/// <summary>
/// Holds a starting process until PostgreSQL answers and the schema is current (the migrate step may
/// still be running), then lets the host go on; gives up with a clear message after
/// <see cref="DatabaseOptions.StartupWait"/>.
/// </summary>
internal sealed class SchemaReadinessGate(
    DatabaseMigrator migrator,
    IOptions<DatabaseOptions> options,
    TimeProvider time,
    ILogger<SchemaReadinessGate> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + options.Value.StartupWait;
        while (true)
        {
            string problem;
            try
            {
                var missing = await migrator.CheckAsync(cancellationToken);
                if (missing.Count == 0)
                {
                    return;
                }
                problem = $"the database schema is not current (missing: {string.Join(", ", missing)}); run 'dotnet Scheduler.Api.dll migrate'";
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
            {
                problem = $"the database is not reachable ({ex.Message})";
            }

            if (time.GetUtcNow() >= deadline)
            {
                throw new InvalidOperationException($"Giving up after {options.Value.StartupWait:c}: {problem}.");
            }
            Log.WaitingForDatabase(logger, problem);
            await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
