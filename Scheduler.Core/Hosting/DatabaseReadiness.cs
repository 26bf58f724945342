using Scheduler.Core.Persistence;

namespace Scheduler.Core.Hosting;

/// <summary>
/// Readiness as every process reports it on <c>/health/ready</c>: PostgreSQL answers and the schema is current.
/// </summary>
public sealed class DatabaseReadiness(DatabaseMigrator migrator)
{
    /// <summary>Null when ready; otherwise why not, in a few words (probes show it, so nothing more).</summary>
    public async Task<string?> WhyNotReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            var missing = await migrator.CheckAsync(cancellationToken);
            return missing.Count == 0 ? null : "database schema is not current";
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return "database unreachable";
        }
    }
}
