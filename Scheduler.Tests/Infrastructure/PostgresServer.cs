using System.Diagnostics;
using DotNet.Testcontainers.Builders;
using Npgsql;
using Testcontainers.PostgreSql;

namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// The PostgreSQL the tests run against, found in the order DEVELOPERS.md gives: a connection string in
/// <c>SCHEDULER_TEST_DATABASE</c>; Testcontainers when a Docker engine answers; otherwise a throwaway
/// cluster from the local binaries on a free port, removed afterwards.
/// </summary>
public abstract class PostgresServer : IAsyncDisposable
{
    public const string DatabaseName = "scheduler_test";

    /// <summary>A connection string to <see cref="DatabaseName"/> (which may not exist yet).</summary>
    public abstract string ConnectionString { get; }

    public abstract string Description { get; }

    /// <summary>Whether the server and its databases are thrown away after the run (a container, a local cluster).</summary>
    public virtual bool RemovedAfterRun => true;

    public abstract ValueTask DisposeAsync();

    /// <summary>Restarts the server (a fast shutdown, then a start); only the local cluster can.</summary>
    public virtual Task RestartAsync() => throw new NotSupportedException($"Cannot restart PostgreSQL from {Description}.");

    /// <summary>Stops the server (a fast shutdown) until <see cref="ResumeAsync"/>; only the local cluster can.</summary>
    public virtual Task PauseAsync() => throw new NotSupportedException($"Cannot stop PostgreSQL from {Description}.");

    /// <summary>Starts the server <see cref="PauseAsync"/> stopped.</summary>
    public virtual Task ResumeAsync() => throw new NotSupportedException($"Cannot start PostgreSQL from {Description}.");

    /// <summary>The running server, once the test assembly has started it.</summary>
    public static PostgresServer? Current { get; internal set; }

    public static async Task<PostgresServer> StartAsync()
    {
        if (Environment.GetEnvironmentVariable("SCHEDULER_TEST_DATABASE") is { Length: > 0 } given)
        {
            return new ExternalServer(given);
        }
        if (DockerEngineMayAnswer())
        {
            try
            {
                return await ContainerServer.StartContainerAsync();
            }
            catch (Exception ex) when (ex is DockerUnavailableException or InvalidOperationException or HttpRequestException or TimeoutException)
            {
                await TestContext.Progress.WriteLineAsync($"Testcontainers could not start PostgreSQL ({ex.Message}); using local binaries.");
            }
        }
        return await LocalCluster.StartClusterAsync();
    }

    private static bool DockerEngineMayAnswer() =>
        Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } || File.Exists("/var/run/docker.sock");

    private sealed class ExternalServer(string connectionString) : PostgresServer
    {
        public override string ConnectionString { get; } = connectionString;

        public override string Description => "SCHEDULER_TEST_DATABASE";

        public override bool RemovedAfterRun => false;

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class ContainerServer(PostgreSqlContainer container) : PostgresServer
    {
        public override string ConnectionString { get; } =
            new NpgsqlConnectionStringBuilder(container.GetConnectionString()) { Database = DatabaseName }.ConnectionString;

        public override string Description => "Testcontainers";

        public static async Task<PostgresServer> StartContainerAsync()
        {
            var container = new PostgreSqlBuilder("postgres:15-alpine").Build();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await container.StartAsync(timeout.Token);
            return new ContainerServer(container);
        }

        public override ValueTask DisposeAsync() => container.DisposeAsync();
    }

    /// <summary>
    /// A cluster made with initdb in a temporary directory and run by a small watchdog shell: if this test
    /// process dies without cleaning up, the watchdog stops PostgreSQL, so no cluster outlives the run.
    /// As root the cluster belongs to the <c>postgres</c> user, since initdb refuses root.
    /// </summary>
    private sealed class LocalCluster : PostgresServer
    {
        private readonly string _directory;
        private readonly string _bin;
        private readonly bool _asRoot;
        private readonly int _port;
        private Process? _watchdog;

        private LocalCluster(string directory, string bin, bool asRoot, int port)
        {
            _directory = directory;
            _bin = bin;
            _asRoot = asRoot;
            _port = port;
        }

        public override string ConnectionString =>
            $"Host=127.0.0.1;Port={_port};Username=postgres;Database={DatabaseName};Maximum Pool Size=50;Timeout=30";

        public override string Description => $"local cluster on port {_port} in {_directory}";

        private string Data => Path.Combine(_directory, "data");

        public static async Task<PostgresServer> StartClusterAsync()
        {
            var bin = FindBinaries() ?? throw new InvalidOperationException(
                "No PostgreSQL for the tests: set SCHEDULER_TEST_DATABASE, start a Docker engine, or install the server binaries (apt-get install -y postgresql).");
            var directory = Directory.CreateTempSubdirectory("scheduler-test-pg-").FullName;
            var asRoot = Environment.UserName == "root";
            if (asRoot)
            {
                await RunAsync("chown", ["postgres:", directory]);
            }
            var cluster = new LocalCluster(directory, bin, asRoot, FreePorts.One());
            var initdb = cluster.AsOwner(Path.Combine(bin, "initdb"), "-D", cluster.Data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-instructions", "--no-sync");
            await RunAsync(initdb[0], initdb[1..]);
            try
            {
                await cluster.StartServerAsync();
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
            return cluster;
        }

        public override async Task RestartAsync()
        {
            await StopServerAsync();
            await StartServerAsync();
        }

        public override Task PauseAsync() => StopServerAsync();

        public override Task ResumeAsync() => StartServerAsync();

        private string[] AsOwner(params string[] command) => _asRoot ? ["runuser", "-u", "postgres", "--", .. command] : command;

        private async Task StartServerAsync()
        {
            var postgres = $"'{Path.Combine(_bin, "postgres")}' -D '{Data}' -p {_port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' " +
                           "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300";
            // The watchdog ends PostgreSQL when this process disappears (checked through /proc, which works across users).
            var script = $"{postgres} >> '{Path.Combine(_directory, "server.log")}' 2>&1 & pg=$!; " +
                         $"while [ -d /proc/{Environment.ProcessId} ] && kill -0 $pg 2>/dev/null; do sleep 1; done; " +
                         "kill -INT $pg 2>/dev/null; wait $pg";
            var command = AsOwner("sh", "-c", script);
            _watchdog = Process.Start(new ProcessStartInfo(command[0], command[1..]) { UseShellExecute = false })!;
            var maintenance = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;
            await Eventually.UntilAsync(async () =>
            {
                if (_watchdog.HasExited)
                {
                    throw new InvalidOperationException($"PostgreSQL exited at startup: {await File.ReadAllTextAsync(Path.Combine(_directory, "server.log"))}");
                }
                try
                {
                    await using var connection = new NpgsqlConnection(maintenance);
                    await connection.OpenAsync();
                    return true;
                }
                catch (NpgsqlException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(60), "the local PostgreSQL cluster to accept connections");
        }

        /// <summary>A fast shutdown of the postmaster (its pid is the first line of postmaster.pid); the watchdog then ends too.</summary>
        private async Task StopServerAsync()
        {
            var pidFile = Path.Combine(Data, "postmaster.pid");
            if (File.Exists(pidFile) && int.TryParse((await File.ReadAllLinesAsync(pidFile))[0], out var postmaster))
            {
                await RunAsync("kill", ["-INT", postmaster.ToString(System.Globalization.CultureInfo.InvariantCulture)], check: false);
            }
            if (_watchdog is null)
            {
                return;
            }
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _watchdog.WaitForExitAsync(exit.Token);
            }
            catch (OperationCanceledException)
            {
                _watchdog.Kill(entireProcessTree: true);
            }
            _watchdog.Dispose();
            _watchdog = null;
        }

        public override async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            await StopServerAsync();
            Directory.Delete(_directory, recursive: true);
        }

        private static string? FindBinaries()
        {
            var candidates = Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0).Select(d => Path.Combine(d, "bin"))
                : [];
            return candidates.Concat(["/usr/local/pgsql/bin", "/usr/local/bin", "/opt/homebrew/bin"])
                .FirstOrDefault(dir => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "postgres")));
        }

        private static async Task RunAsync(string file, string[] arguments, bool check = true)
        {
            var info = new ProcessStartInfo(file, arguments) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (check && process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await output}{await error}");
            }
        }
    }
}
