using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Scheduler.Core.Hosting;

namespace Scheduler.Core.Persistence;

/// <summary>
/// A database of a process's own for its warm-up's writes: created next to Scheduler's on the same server
/// (<c>&lt;database&gt;_rehearsal_&lt;creation time&gt;_&lt;random&gt;</c>), migrated, and dropped when the warm-up ends
/// (<see cref="DisposeAsync"/>). The API commits its warm-up's creates to it and hands their runs to its Hangfire tables;
/// a worker runs calls of its own from it. Nothing of either reaches Scheduler's database. Creating it needs the
/// privilege to create a database (<c>CREATEDB</c>); without it, <see cref="CreateAsync"/> fails and leaves nothing.
/// </summary>
public sealed class RehearsalDatabase : IAsyncDisposable
{
    /// <summary>Names start with this after Scheduler's database's name; one left by a process that died is dropped by the next.</summary>
    public const string Infix = "_rehearsal_";

    /// <summary>
    /// A database of this name pattern older than this was left by a process that died during its warm-up (which lasts
    /// at most two minutes), and is dropped; a younger one may be another process's, being created or migrated.
    /// </summary>
    public static readonly TimeSpan LeftoverAge = TimeSpan.FromMinutes(10);

    // After the prefix: the creation time (Unix seconds) and 4 random bytes, in hex.
    private const int SuffixLength = 8 + 1 + 8;

    private readonly string _server;

    private RehearsalDatabase(string name, string server, DatabaseOptions options, DatabaseConnections connections)
    {
        (Name, _server, Options, Connections) = (name, server, options, connections);
    }

    /// <summary>The database's name.</summary>
    public string Name { get; }

    /// <summary>Every connection string of these options leads to this database (the real options' Hangfire schema kept).</summary>
    public DatabaseOptions Options { get; }

    /// <summary>Its connection strings, as the process's own are made (pool sizes from the engine's options).</summary>
    public DatabaseConnections Connections { get; }

    /// <summary>
    /// Creates and migrates the database, after dropping any a dead process left (older than <see cref="LeftoverAge"/>:
    /// a younger one may be another process's, between its creation and its first connection). Fails, leaving nothing
    /// behind, when the role may not create databases.
    /// </summary>
    /// <param name="real">Scheduler's own database options: the server, and the role, to create it with.</param>
    /// <param name="engine">The engine's options, for the pool sizes.</param>
    /// <param name="processName">Its connections' application name after <c>scheduler-</c> (<c>api-rehearsal</c>).</param>
    /// <param name="time">The clock, for its name's creation time.</param>
    /// <param name="cancellationToken">Stops the creation; what was created is dropped.</param>
    public static async Task<RehearsalDatabase> CreateAsync(
        DatabaseOptions real, EngineOptions engine, string processName, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(real);
        ArgumentNullException.ThrowIfNull(time);
        // A session (direct) connection: a pooler in transaction mode would not know the new database.
        var server = new NpgsqlConnectionStringBuilder(string.IsNullOrWhiteSpace(real.SessionConnectionString) ? real.ConnectionString : real.SessionConnectionString)
        {
            Pooling = false,
        };
        var prefix = Truncate(server.Database ?? server.Username ?? "scheduler", 63 - Infix.Length - SuffixLength) + Infix;
        var now = time.GetUtcNow();
        var name = $"{prefix}{now.ToUnixTimeSeconds():x8}_{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";
        await DropLeftoversAsync(server.ConnectionString, prefix, now, cancellationToken);
        await ExecuteAsync(server.ConnectionString, $"CREATE DATABASE {Quote(name)}", cancellationToken);
        try
        {
            var here = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = name, Pooling = true }.ConnectionString;
            var options = new DatabaseOptions
            {
                ConnectionString = here,
                HangfireConnectionString = here,
                SessionConnectionString = here,
                HangfireSessionConnectionString = here,
                HangfireSchema = real.HangfireSchema,
            };
            var connections = new DatabaseConnections(options, engine, processName);
            await new DatabaseMigrator(Microsoft.Extensions.Options.Options.Create(options), connections, NullLogger<DatabaseMigrator>.Instance).MigrateAsync(cancellationToken);
            return new RehearsalDatabase(name, server.ConnectionString, options, connections);
        }
        catch
        {
            await DropAsync(server.ConnectionString, name, CancellationToken.None);
            throw;
        }
    }

    /// <summary>
    /// <see cref="CreateAsync"/>, or null when the database cannot be had (the role may not create databases, the server
    /// refuses), said through <paramref name="unavailable"/>: the warm-up then does without.
    /// </summary>
    public static async Task<RehearsalDatabase?> TryCreateAsync(
        DatabaseOptions real, EngineOptions engine, string processName, TimeProvider time, Action<string> unavailable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(unavailable);
        try
        {
            return await CreateAsync(real, engine, processName, time, cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            unavailable(ex.Message);
            return null;
        }
    }

    /// <summary>
    /// Drops it (<see cref="DisposeAsync"/>); false, said through <paramref name="notDropped"/>, when it could not: a
    /// later start of a process drops it once it is <see cref="LeftoverAge"/> old.
    /// </summary>
    public async Task<bool> TryDropAsync(Action<string> notDropped)
    {
        ArgumentNullException.ThrowIfNull(notDropped);
        try
        {
            await DisposeAsync();
            return true;
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            notDropped(ex.Message);
            return false;
        }
    }

    /// <summary>Closes the pools of its connection strings and drops it (connections still open are ended).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var connectionString in new[] { Connections.Scheduler, Connections.Hangfire, Connections.Session, Connections.HangfireSession }.Distinct())
        {
            await using var connection = new NpgsqlConnection(connectionString);
            NpgsqlConnection.ClearPool(connection);
        }
        await DropAsync(_server, Name, CancellationToken.None);
    }

    /// <summary>Drops the databases of this pattern older than <see cref="LeftoverAge"/> that nobody is connected to.</summary>
    private static async Task DropLeftoversAsync(string server, string prefix, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var leftovers = new List<string>();
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1", connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = prefix });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                leftovers.Add(reader.GetString(0));
            }
        }
        foreach (var leftover in leftovers.Where(name => CreatedAt(name[prefix.Length..]) is { } created && now - created > LeftoverAge))
        {
            try
            {
                // Without FORCE: one someone is connected to is not a leftover after all.
                await ExecuteAsync(server, $"DROP DATABASE IF EXISTS {Quote(leftover)}", cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.ObjectInUse or PostgresErrorCodes.InsufficientPrivilege)
            {
            }
        }
    }

    /// <summary>When a database of this pattern was created, from what follows its prefix; null for a name not of the pattern.</summary>
    internal static DateTimeOffset? CreatedAt(string suffix) =>
        suffix.Length == SuffixLength && suffix[8] == '_' && suffix.Remove(8, 1).All(char.IsAsciiHexDigitLower)
            ? DateTimeOffset.FromUnixTimeSeconds(Convert.ToInt64(suffix[..8], 16))
            : null;

    private static Task DropAsync(string server, string name, CancellationToken cancellationToken) =>
        ExecuteAsync(server, $"DROP DATABASE IF EXISTS {Quote(name)} WITH (FORCE)", cancellationToken);

    private static async Task ExecuteAsync(string server, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string Quote(string name) => $"\"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    /// <summary>At most <paramref name="bytes"/> bytes of UTF-8 (PostgreSQL's names are at most 63), cut between characters.</summary>
    private static string Truncate(string text, int bytes)
    {
        if (Encoding.UTF8.GetByteCount(text) <= bytes)
        {
            return text;
        }
        var end = text.Length;
        while (end > 0 && Encoding.UTF8.GetByteCount(text.AsSpan(0, end)) > bytes)
        {
            end--;
        }
        return char.IsHighSurrogate(text[end - 1]) ? text[..(end - 1)] : text[..end];
    }
}
