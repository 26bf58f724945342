using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Scheduler.Tests.Infrastructure;
using static Scheduler.Tests.Infrastructure.SchedulerApiExtensions;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// The system behind PgBouncer in transaction mode (docs/operations.md#behind-pgbouncer): the pooled connection
/// strings (Scheduler's, and Hangfire's, which defaults to it) go through PgBouncer with Max Auto Prepare=0
/// (Debian's PgBouncer 1.18 has no prepared statements), the session ones (LISTEN, the reconciliation's lock,
/// the schema check) straight to PostgreSQL. Skipped when PgBouncer is not installed.
/// </summary>
// Its PgBouncer and the system behind it want the machine to themselves (connection counts, pool timing).
[NonParallelizable]
public sealed class PgBouncerTests
{
    private const string PgBouncer = "/usr/sbin/pgbouncer";

    private string _directory = null!;
    private Process? _pgbouncer;
    private TestTarget? _target;
    private SchedulerProcess? _api;
    private SchedulerProcess? _worker;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        if (!File.Exists(PgBouncer))
        {
            Assert.Ignore($"{PgBouncer} is not installed (apt-get install -y pgbouncer).");
        }
        await TestDatabase.ResetAsync();
        var direct = new NpgsqlConnectionStringBuilder(TestAssemblySetup.ConnectionString);
        var port = FreePorts.One();
        _directory = Directory.CreateTempSubdirectory("scheduler-test-pgbouncer-").FullName;
        await File.WriteAllTextAsync(Path.Combine(_directory, "users.txt"), $"\"{direct.Username}\" \"\"\n");
        await File.WriteAllTextAsync(Path.Combine(_directory, "pgbouncer.ini"), $"""
            [databases]
            {direct.Database} = host={direct.Host} port={direct.Port} dbname={direct.Database}
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = trust
            auth_file = {Path.Combine(_directory, "users.txt")}
            pool_mode = transaction
            max_client_conn = 500
            default_pool_size = 10
            ignore_startup_parameters = extra_float_digits
            logfile = {Log}
            """);
        // PgBouncer refuses to run as root: as root it is started as postgres (-u), owning its directory.
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            using var chown = Process.Start("chown", ["-R", "postgres:", _directory])!;
            await chown.WaitForExitAsync();
        }
        _pgbouncer = Process.Start(new ProcessStartInfo(PgBouncer, asRoot ? ["-u", "postgres", Path.Combine(_directory, "pgbouncer.ini")] : [Path.Combine(_directory, "pgbouncer.ini")])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var pooled = new NpgsqlConnectionStringBuilder(TestAssemblySetup.ConnectionString) { Port = port }.ConnectionString;
        // Explicit, as an operator would write it: NpgsqlConnectionStringBuilder leaves a default value out.
        pooled += ";Max Auto Prepare=0";
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                await using var probe = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(pooled) { Pooling = false }.ConnectionString);
                await probe.OpenAsync();
                return true;
            }
            catch (NpgsqlException)
            {
                return _pgbouncer.HasExited ? throw new InvalidOperationException($"PgBouncer exited: {await _pgbouncer.StandardError.ReadToEndAsync()}") : false;
            }
        }, TimeSpan.FromSeconds(30), "PgBouncer to accept connections");

        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings__Scheduler"] = pooled,
            ["ConnectionStrings__SchedulerSession"] = TestAssemblySetup.ConnectionString,
        };
        _target = await TestTarget.StartAsync();
        _api = await SchedulerProcess.StartApiAsync(settings);
        _worker = await SchedulerProcess.StartWorkerAsync(settings);
    }

    private string Log => Path.Combine(_directory, "pgbouncer.log");

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        foreach (var process in new[] { _worker, _api })
        {
            if (process is not null)
            {
                await process.DisposeAsync();
            }
        }
        if (_target is not null)
        {
            await _target.DisposeAsync();
        }
        if (_pgbouncer is { HasExited: false })
        {
            _pgbouncer.Kill();
            await _pgbouncer.WaitForExitAsync();
        }
        _pgbouncer?.Dispose();
        if (_directory is not null && Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [TearDown]
    public async Task DumpLogsOnFailureAsync()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            foreach (var process in new[] { _api, _worker }.OfType<SchedulerProcess>())
            {
                await TestContext.Out.WriteLineAsync($"----- {process.Name} (pid {process.Id}) -----{Environment.NewLine}{process.Output}");
            }
            if (File.Exists(Log))
            {
                await TestContext.Out.WriteLineAsync($"----- pgbouncer -----{Environment.NewLine}{await File.ReadAllTextAsync(Log)}");
            }
        }
    }

    [Test]
    public async Task Immediate_and_timed_schedules_run_end_to_end_through_pgbouncer_in_transaction_mode()
    {
        _target!.Respond("/through-pgbouncer", TestTarget.Status(200, "ok"));
        var client = CreateClient(_api!.BaseAddress!);
        var immediate = await client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{_target.Url("/through-pgbouncer")}}}"}}""");
        // A timed one goes through the dispatcher (its claims, and its wake-up on its session's LISTEN).
        var at = DateTimeOffset.UtcNow.AddSeconds(2).ToString("O", CultureInfo.InvariantCulture);
        var once = await client.CreateScheduleAsync($$$"""{"schedule_type": "ONCE", "run_at": "{{{at}}}", "target": {"url": "{{{_target.Url("/through-pgbouncer")}}}"}}""");

        var immediateRun = await client.WaitForFinishedRunAsync(immediate, TimeSpan.FromSeconds(60));
        var onceRun = await client.WaitForFinishedRunAsync(once, TimeSpan.FromSeconds(60));
        Assert.Multiple(async () =>
        {
            Assert.That(immediateRun.Status(), Is.EqualTo("SUCCESS"));
            Assert.That(onceRun.Status(), Is.EqualTo("SUCCESS"));
            Assert.That(_target.ReceivedOn("/through-pgbouncer"), Has.Count.EqualTo(2));
            Assert.That(await File.ReadAllTextAsync(Log), Does.Contain("login attempt"), "the processes' pooled connections went through PgBouncer");
        });
    }
}
