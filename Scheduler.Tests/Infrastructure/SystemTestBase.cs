namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// A fixture that runs the real system: one API process, one worker process and a target on 127.0.0.1,
/// started once per fixture, with the database reset before each test. A failing test prints the
/// processes' logs.
/// </summary>
public abstract class SystemTestBase
{
    protected SchedulerProcess Api { get; private set; } = null!;

    protected SchedulerProcess? Worker { get; set; }

    protected TestTarget Target { get; private set; } = null!;

    protected ISchedulerApi Client { get; private set; } = null!;

    private OtlpReceiver? _otlp;

    /// <summary>An OTLP receiver for the processes' spans, started on first use (give them <c>Otlp.Settings</c>), stopped with the fixture.</summary>
    protected OtlpReceiver Otlp => _otlp ??= OtlpReceiver.Start();

    /// <summary>Settings given to every process this fixture starts (environment variables).</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>();

    /// <summary>Whether the fixture starts a worker with the API.</summary>
    protected virtual bool StartsWorker => true;

    [OneTimeSetUp]
    public async Task StartSystemAsync()
    {
        await TestDatabase.ResetAsync();
        Target = await TestTarget.StartAsync();
        Api = await SchedulerProcess.StartApiAsync(Settings);
        Client = SchedulerApiExtensions.CreateClient(Api.BaseAddress!);
        // A fresh API takes most of a second to serve its first schedule (JIT, EF Core's model); pay that
        // here, not in the first test's timings. The database is reset before each test anyway.
        // (A public address that is never called: the SSRF guard may be on, and the database is reset anyway.)
        await Client.CreateScheduleAsync("""{"schedule_type": "INTERVAL", "interval_seconds": 3600, "target": {"url": "https://example.com/warm-up"}}""");
        if (StartsWorker)
        {
            Worker = await SchedulerProcess.StartWorkerAsync(Settings);
        }
    }

    [SetUp]
    public Task ResetDatabaseAsync() => TestDatabase.ResetAsync();

    private readonly List<SchedulerProcess> _testWorkers = [];

    /// <summary>Starts a worker that lives until the end of the current test (with <paramref name="settings"/>, else the fixture's).</summary>
    protected async Task<SchedulerProcess> StartWorkerForTestAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var worker = await SchedulerProcess.StartWorkerAsync(settings ?? Settings);
        _testWorkers.Add(worker);
        return worker;
    }

    [TearDown]
    public async Task DumpLogsOnFailureAndStopTestWorkersAsync()
    {
        var result = TestContext.CurrentContext.Result;
        if (result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            foreach (var process in Processes().Concat(_testWorkers))
            {
                await TestContext.Out.WriteLineAsync($"----- {process.Name} (pid {process.Id}) -----{Environment.NewLine}{process.Output}");
            }
            // The logs are long and CI shows only the end of the output: say again, last, what failed.
            await TestContext.Out.WriteLineAsync($"----- FAILED {TestContext.CurrentContext.Test.FullName}: {result.Message}");
        }
        foreach (var worker in _testWorkers)
        {
            await worker.DisposeAsync();
        }
        _testWorkers.Clear();
    }

    [OneTimeTearDown]
    public async Task StopSystemAsync()
    {
        foreach (var process in Processes())
        {
            await process.DisposeAsync();
        }
        if (Target is not null)
        {
            await Target.DisposeAsync();
        }
        if (_otlp is not null)
        {
            await _otlp.DisposeAsync();
        }
    }

    private IEnumerable<SchedulerProcess> Processes()
    {
        if (Api is not null)
        {
            yield return Api;
        }
        if (Worker is not null)
        {
            yield return Worker;
        }
    }

    protected static TimeSpan Seconds(double seconds) => TimeSpan.FromSeconds(seconds);
}
