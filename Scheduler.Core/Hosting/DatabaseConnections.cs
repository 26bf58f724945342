namespace Scheduler.Core.Hosting;

/// <summary>
/// The connection strings one process uses, tuned and sized from the options: Scheduler's pool, Hangfire's pool
/// (both may go through a pooler in transaction mode) and the session connections (never through one). Every
/// connection is named after the process and what it is for (<c>application_name</c> in <c>pg_stat_activity</c>:
/// <c>scheduler-worker</c>, <c>scheduler-worker-hangfire</c>, <c>scheduler-worker-session</c>), unless the
/// connection string names it.
/// </summary>
public sealed class DatabaseConnections
{
    public DatabaseConnections(DatabaseOptions database, EngineOptions engine, string processName)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(engine);
        var runsServer = processName == "worker";
        Scheduler = Pooled(database.ConnectionString, $"scheduler-{processName}", runsServer ? SchedulerPoolInWorker : SchedulerPoolInApi);
        Hangfire = Pooled(database.HangfireConnectionString, $"scheduler-{processName}-hangfire", HangfirePool(engine, runsServer));
        Session = Unpooled(Or(database.SessionConnectionString, database.ConnectionString), $"scheduler-{processName}-session");
        HangfireSession = Unpooled(Or(database.HangfireSessionConnectionString, database.HangfireConnectionString), $"scheduler-{processName}-session");
        MostOpenAtOnce = new NpgsqlConnectionStringBuilder(Scheduler).MaxPoolSize + new NpgsqlConnectionStringBuilder(Hangfire).MaxPoolSize
            + (runsServer ? SessionsInWorker : SessionsInApi);
    }

    /// <summary>
    /// The most connections the process opens at once: its two pools full, and its sessions. A worker's
    /// sessions: the dispatcher's LISTEN, the job listener's LISTEN, the reconciliation's lock, and a probe's
    /// schema check (one short connection, then another). The API's: the reconciliation's lock and a probe's
    /// schema check.
    /// </summary>
    public int MostOpenAtOnce { get; }

    private const int SessionsInWorker = 4;

    private const int SessionsInApi = 2;

    /// <summary>Scheduler's pool (the <see cref="NpgsqlDataSource"/>).</summary>
    public string Scheduler { get; }

    /// <summary>Hangfire's pool: its storage, its client and the job fetch.</summary>
    public string Hangfire { get; }

    /// <summary>Scheduler's database, one connection per session, outside any pool (<see cref="SessionConnections"/>).</summary>
    public string Session { get; }

    /// <summary>Hangfire's database, one connection per session, outside any pool (the job listener).</summary>
    public string HangfireSession { get; }

    /// <summary>Npgsql's default Maximum Pool Size; any other value was given on purpose and is kept.</summary>
    private const int DefaultMaxPoolSize = 100;

    /// <summary>
    /// Scheduler's own pool in a worker. Concurrent runs share statements (StatementBatcher: two in flight per
    /// kind of statement), so few connections carry the load: measured, a worker running 2,000 slow calls at once
    /// used 4. Ten keep a worker within its budget (docs/operations.md#database-connections) with room to spare.
    /// </summary>
    private const int SchedulerPoolInWorker = 10;

    /// <summary>
    /// The API's: concurrent requests share commits (ScheduleWriter), but it also serves the dashboard and the
    /// reads of every client (measured: with Npgsql's default of 100 per pool, 1,667 failing calls a second
    /// exhausted the server's 300 connections; 50 since).
    /// </summary>
    private const int SchedulerPoolInApi = 50;

    /// <summary>
    /// Hangfire's pool. In a worker, a Hangfire worker holds a connection only while it fetches a job or changes
    /// its state (Hangfire.PostgreSql releases its lock's connection with the lock, not at the job's end), and
    /// Hangfire's own background processes need one now and then: half the workers and one, at most 11
    /// (measured: 20 workers running 2,000 slow calls used 9 at once; what is left of a worker's 25 connections). A smaller pool makes fetches and state changes wait for a
    /// connection, never fail. A process without a Hangfire server (the API) only creates jobs and serves the
    /// dashboard. New jobs are announced on one listener per process (SharedListenerJobQueue), outside the pool.
    /// </summary>
    private static int HangfirePool(EngineOptions engine, bool runsServer) => runsServer ? Math.Clamp((engine.WorkerCount / 2) + 1, 2, 11) : 20;

    private static string Or(string value, string fallback) => string.IsNullOrWhiteSpace(value) ? fallback : value;

    private static string Pooled(string connectionString, string name, int maxPoolSize)
    {
        var builder = Named(connectionString, name);
        TuneForShortStatements(builder, connectionString);
        if (builder.MaxPoolSize == DefaultMaxPoolSize)
        {
            builder.MaxPoolSize = maxPoolSize;
        }
        return builder.ConnectionString;
    }

    /// <summary>A session lives as long as what holds it (a LISTEN, a lock, a migration) and ends with it.</summary>
    private static string Unpooled(string connectionString, string name)
    {
        var builder = Named(connectionString, name);
        builder.Pooling = false;
        return builder.ConnectionString;
    }

    /// <summary>Whether the connection string gives the setting (any spelling: <c>Max Auto Prepare</c>, <c>maxautoprepare</c>).</summary>
    internal static bool Sets(string connectionString, string keyword) =>
        new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.Keys.Cast<string>()
            .Any(key => string.Equals(key.Replace(" ", "", StringComparison.Ordinal), keyword, StringComparison.OrdinalIgnoreCase));

    private static NpgsqlConnectionStringBuilder Named(string connectionString, string name)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.ApplicationName ??= name;
        return builder;
    }

    /// <summary>
    /// Every statement here is short and most run thousands of times, each on a connection taken from the pool
    /// for it. By default Npgsql resets a pooled connection (DISCARD ALL) before reusing it, a round trip and a
    /// session reset per statement that measured as a fifth of the statements the server ran; nothing here
    /// leaves session state behind (no temporary tables, session settings or listeners on pooled connections),
    /// so that reset is off. Statements used a few times are prepared once per connection and reused, unless the
    /// connection string says otherwise (<c>Max Auto Prepare=0</c> for a pooler without prepared statements).
    /// </summary>
    internal static void TuneForShortStatements(NpgsqlConnectionStringBuilder connection, string given)
    {
        connection.NoResetOnClose = true;
        if (!Sets(given, "MaxAutoPrepare"))
        {
            connection.MaxAutoPrepare = 64;
            connection.AutoPrepareMinUsages = 3;
        }
    }
}

/// <summary>
/// Connections that hold a PostgreSQL session: a LISTEN, a session advisory lock. Each is opened for its holder
/// and closed with it, outside the pools, on <see cref="DatabaseOptions.SessionConnectionString"/>.
/// </summary>
public sealed class SessionConnections(DatabaseConnections connections)
{
    public async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connections.Session);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
