using Microsoft.Extensions.Options;
using Npgsql;

namespace Scheduler.Core.Hosting;

/// <summary>
/// Which worker processes are alive, read from Hangfire's server table with the database's clock
/// (servers write <c>now()</c> there every <see cref="EngineOptions.HeartbeatInterval"/>).
/// </summary>
public sealed class WorkerHeartbeats(IOptions<DatabaseOptions> database, IOptions<EngineOptions> engine)
{
    /// <summary>A server counts as alive when it wrote a heartbeat within this window.</summary>
    public TimeSpan Window => TimeSpan.FromTicks(Math.Max(engine.Value.HeartbeatInterval.Ticks * 3, TimeSpan.FromSeconds(30).Ticks));

    public async Task<int> CountAliveAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(database.Value.HangfireConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"SELECT count(*) FROM \"{database.Value.HangfireSchema}\".server WHERE lastheartbeat > now() - @window", connection);
        command.Parameters.AddWithValue("window", Window);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }
}
