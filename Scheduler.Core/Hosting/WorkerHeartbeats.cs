namespace Scheduler.Core.Hosting;

/// <summary>
/// Which worker processes are alive, read from Hangfire's server table with the database's clock
/// (servers write <c>now()</c> there every <see cref="EngineOptions.HeartbeatInterval"/>).
/// </summary>
public sealed class WorkerHeartbeats(IOptions<DatabaseOptions> database, IOptions<EngineOptions> engine, DatabaseConnections connections)
{
    /// <summary>A server counts as alive when it wrote a heartbeat within this window.</summary>
    public TimeSpan Window => TimeSpan.FromTicks(Math.Max(engine.Value.HeartbeatInterval.Ticks * 3, TimeSpan.FromSeconds(30).Ticks));

    public async Task<int> CountAliveAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connections.Hangfire);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"SELECT count(*) FROM \"{database.Value.HangfireSchema}\".server WHERE lastheartbeat > now() - @window", connection);
        command.Parameters.AddWithValue("window", Window);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// How long ago the Hangfire server named <paramref name="serverName"/> last wrote its heartbeat (Hangfire ids
    /// its server "name:pid:guid", in lower case); null when it has no row (not announced yet, or removed as dead).
    /// </summary>
    public async Task<TimeSpan?> SinceLastHeartbeatAsync(string serverName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(serverName);
        await using var connection = new NpgsqlConnection(connections.Hangfire);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"SELECT now() - max(lastheartbeat) FROM \"{database.Value.HangfireSchema}\".server WHERE starts_with(id, @prefix)", connection);
        command.Parameters.AddWithValue("prefix", serverName.ToLowerInvariant() + ":");
        return await command.ExecuteScalarAsync(cancellationToken) as TimeSpan?;
    }
}
