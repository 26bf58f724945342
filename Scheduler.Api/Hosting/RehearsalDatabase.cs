using System.Text;
using Hangfire;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Scheduler.Api.Schedules;
using Scheduler.Core.Hosting;
using Scheduler.Core.Jobs;
using Scheduler.Core.Persistence;
using Scheduler.Core.Security;

namespace Scheduler.Api.Hosting;

/// <summary>
/// A database of the API's own for its warm-up's writes (<see cref="ApiWarmup"/>): created next to Scheduler's on the
/// same server (<c>&lt;database&gt;_rehearsal_&lt;creation time&gt;_&lt;random&gt;</c>), migrated, and dropped when the warm-up ends. Its
/// <see cref="Writer"/> is the create path's own, composed on it: the group commit and its insert, the hand-off of
/// IMMEDIATE runs to Hangfire (jobs no worker takes) and the job ids recorded on the runs. So the warm-up's requests
/// run the code a real create runs, and nothing of them reaches Scheduler's database. Without the privilege to create
/// a database (<c>CREATEDB</c>), there is none, and the warm-up writes nothing as before.
/// </summary>
internal sealed class RehearsalDatabase : IAsyncDisposable
{
    /// <summary>Names start with this after Scheduler's database's name; one left by a process that died is dropped by the next.</summary>
    public const string Infix = "_rehearsal_";

    /// <summary>
    /// A database of this name pattern older than this was left by an API that died during its warm-up (which lasts
    /// at most two minutes), and is dropped; a younger one may be another API's, being created or migrated.
    /// </summary>
    public static readonly TimeSpan LeftoverAge = TimeSpan.FromMinutes(10);

    // After the prefix: the creation time (Unix seconds) and 4 random bytes, in hex.
    private const int SuffixLength = 8 + 1 + 8;

    private readonly string _server;
    private readonly NpgsqlDataSource _data;
    private readonly string _hangfire;

    private RehearsalDatabase(string name, string server, NpgsqlDataSource data, string hangfire, ScheduleWriter writer)
    {
        (Name, _server, _data, _hangfire, Writer) = (name, server, data, hangfire, writer);
    }

    /// <summary>The database's name.</summary>
    public string Name { get; }

    /// <summary>Commits creates into this database and hands their runs to its Hangfire storage, as the API's own writer does.</summary>
    public ScheduleWriter Writer { get; }

    /// <summary>
    /// Creates, migrates and composes the database, after dropping any a dead API left (older than
    /// <see cref="LeftoverAge"/>: a younger one may be another API's, between its creation and its first connection).
    /// Fails, leaving nothing behind, when the role may not create databases.
    /// </summary>
    public static async Task<RehearsalDatabase> CreateAsync(
        DatabaseOptions real, EngineOptions engine, IOptions<SchedulingOptions> scheduling, SecretProtector secrets, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(real);
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
            var connections = new DatabaseConnections(options, engine, "api-rehearsal");
            await new DatabaseMigrator(Options.Create(options), connections, NullLogger<DatabaseMigrator>.Instance).MigrateAsync(cancellationToken);
            var data = NpgsqlDataSource.Create(connections.Scheduler);
            var storage = CoreServiceCollectionExtensions.CreateHangfireStorage(connections, options, engine, data, NullLoggerFactory.Instance, metrics: null);
            var enqueuer = new RunEnqueuer(new BackgroundJobClient(storage), data, time);
            var handOff = new RunHandOff(enqueuer, scheduling, NullLogger<RunHandOff>.Instance);
            var writer = new ScheduleWriter(secrets, handOff, data, new DispatchAnnouncer(data, time, NullLogger<DispatchAnnouncer>.Instance));
            return new RehearsalDatabase(name, server.ConnectionString, data, connections.Hangfire, writer);
        }
        catch
        {
            await DropAsync(server.ConnectionString, name, CancellationToken.None);
            throw;
        }
    }

    /// <summary>
    /// Waits (at most <paramref name="limit"/>) until every run written here has its Hangfire job, so that no hand-off is
    /// still under way when the database goes. Returns the runs written.
    /// </summary>
    public async Task<long> SettleAsync(TimeSpan limit, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(time);
        var deadline = time.GetTimestamp() + (long)(limit.TotalSeconds * time.TimestampFrequency);
        while (true)
        {
            await using var command = _data.CreateCommand("SELECT count(*), count(*) FILTER (WHERE hangfire_job_id IS NULL) FROM scheduler.runs");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var (runs, waiting) = (reader.GetInt64(0), reader.GetInt64(1));
            if (waiting == 0 || time.GetTimestamp() >= deadline)
            {
                return runs;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken);
        }
    }

    /// <summary>Closes its connections and drops it.</summary>
    public async ValueTask DisposeAsync()
    {
        await _data.DisposeAsync();
        await using (var hangfire = new NpgsqlConnection(_hangfire))
        {
            NpgsqlConnection.ClearPool(hangfire);
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
