using System.Diagnostics.Metrics;
using System.Net;
using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.PostgreSql;
using Microsoft.Extensions.Logging.Abstractions;
using Scheduler.Core.Observability;
using Scheduler.Core.Security;

namespace Scheduler.Worker.Hosting;

/// <summary>
/// The worker's warm-up (section <c>WarmUp</c>): once its own Hangfire server runs (and takes jobs), a second one runs
/// calls of its own beside it until the runtime has recompiled their path at tier 1 (<see cref="CompilationQuiet"/>), or
/// <see cref="WarmUpOptions.WorkerSeconds"/> have passed. Its runs are real ones (rows, Hangfire jobs, the claim, the call,
/// the outcome, the job's state), in a database of its own (<see cref="RehearsalDatabase"/>, dropped after), called on
/// a loopback target (<see cref="LoopbackTarget"/>), through a second container composed from the worker's own
/// registrations (<see cref="WorkerHostingExtensions.AddWorkerServices"/>): no hosted service, its own Hangfire storage
/// and client (Hangfire's global configuration untouched), no logs, spans made as a run's are but never exported
/// (<see cref="WarmUpTraces"/>; each run carries a trace context, as the API's creates give them), and its runs counted
/// under a meter nothing exports. The worker reports ready when it ends. A fresh worker otherwise spends its first seconds of load
/// compiling that path: measured, cold bursts ran about a quarter slower (docs/performance.md).
/// </summary>
internal sealed class WorkerRehearsal(
    IConfiguration configuration,
    IOptions<WarmUpOptions> options,
    IOptions<DatabaseOptions> database,
    IOptions<EngineOptions> engine,
    IOptions<WorkerHttpOptions> http,
    WorkerIdentity worker,
    IHostApplicationLifetime lifetime,
    IServiceScopeFactory scopes,
    TimeProvider time,
    ILogger<WorkerRehearsal> logger) : IHostedService, IDisposable
{
    /// <summary>The warm-up's runs are counted under this meter, which no exporter listens to.</summary>
    public const string MeterName = SchedulerMetrics.MeterName + ".WarmUp";

    // Fewer runs than this waiting: the next round is added, RunsPerRound runs, most in jobs of RunsPerBatchJob, the
    // rest one job each, due a little later (a worker holds such a run until its time). Few waiting leaves CPU to the
    // runtime's compilation: measured, the warm-up then ended sooner (18.5–19.3 s against 19–30 s with 100 waiting).
    private const int Outstanding = 10;
    private const int RunsPerRound = 50;
    private const int RunsPerBatchJob = 20;
    private const int LaterRuns = 10;
    private static readonly TimeSpan Later = TimeSpan.FromMilliseconds(200);

    private readonly CancellationTokenSource _stopping = new();
    private Task _rehearsal = Task.CompletedTask;
    private volatile bool _done;

    /// <summary>Until the warm-up has ended (at once when it is off), the worker is not ready.</summary>
    public bool Done => _done;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.WorkerSeconds == 0 || !options.Value.Database)
        {
            _done = true;
            return Task.CompletedTask;
        }
        // Once the worker's own server runs: Hangfire's global configuration (its filters, the serializer) is made then.
        lifetime.ApplicationStarted.Register(() => _rehearsal = Task.Run(RehearseAsync));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _rehearsal.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    private async Task RehearseAsync()
    {
        var started = time.GetTimestamp();
        var methodsBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        limit.CancelAfter(TimeSpan.FromSeconds(options.Value.WorkerSeconds));
        // The warm-up's spans are never exported: this flows into its feeding and (BeginScope below) into its jobs.
        using var traces = WarmUpTraces.Begin();
        RehearsalDatabase? own = null;
        try
        {
            await ActivateJobServicesAsync();
            own = await RehearsalDatabase.TryCreateAsync(
                database.Value, engine.Value, "worker-warm-up", time, message => Log.RehearsalDatabaseUnavailable(logger, message), limit.Token);
            if (own is null)
            {
                return;
            }
            await using var target = new LoopbackTarget();
            await using var services = Compose(own);
            await ProbeSelfAsync(limit.Token);
            var storage = (PostgreSqlStorage)services.GetRequiredService<JobStorage>();
            try
            {
                using (var server = new BackgroundJobServer(
                           new BackgroundJobServerOptions
                           {
                               ServerName = $"{worker.Name}:warm-up",
                               WorkerCount = engine.Value.WorkerCount,
                               Queues = JobQueues.All,
                               SchedulePollingInterval = engine.Value.SchedulePollingInterval,
                               HeartbeatInterval = engine.Value.HeartbeatInterval,
                               ServerTimeout = engine.Value.ServerTimeout,
                               StopTimeout = TimeSpan.FromSeconds(1),
                               ShutdownTimeout = TimeSpan.FromSeconds(5),
                               Activator = new WarmUpJobActivator(services.GetRequiredService<IServiceScopeFactory>()),
                           },
                           storage, []))
                {
                    try
                    {
                        await FeedAsync(services, target, limit.Token);
                    }
                    finally
                    {
                        server.SendStop();
                    }
                }
            }
            finally
            {
                // The job queue's listener (its LISTEN connection) goes before the database does, whatever happened.
                (storage.QueueProviders.GetProvider(JobQueues.Default).GetJobQueue() as IDisposable)?.Dispose();
            }
            var (runs, outcome) = await OutcomeAsync(services.GetRequiredService<NpgsqlDataSource>());
            await services.DisposeAsync();
            var (name, dropped) = (own.Name, await DropAsync(own));
            own = null;
            Log.WarmedUpByRehearsal(logger, runs, outcome, target.Answered, name, dropped ? "dropped" : "not dropped",
                time.GetElapsedTime(started).TotalMilliseconds, System.Runtime.JitInfo.GetCompiledMethodCount() - methodsBefore);
        }
        catch (Exception ex) when (!_stopping.IsCancellationRequested)
        {
            Log.RehearsalFailed(logger, ex.Message);
        }
        finally
        {
            if (own is not null)
            {
                await DropAsync(own);
            }
            _done = true;
        }
    }

    /// <summary>
    /// Asks the worker's own <c>/health/ready</c> <see cref="ProbePasses"/> times, each on a new connection as a probe
    /// comes (<c>curl</c> in <c>./run</c>, a kubelet), so that a probe's path is compiled, and recompiled at tier 1,
    /// before anyone probes. Otherwise a probe every half second compiles its way through that path during the warm-up,
    /// which ends only when the runtime goes quiet: measured, the worker <c>./run</c> probed warmed up for 16.9–21.5 s
    /// against 9–12 s for the one not yet probed, and with these probes both for 10.5–12 s (docs/performance.md).
    /// Best effort: a probe that fails ends them.
    /// </summary>
    private async Task ProbeSelfAsync(CancellationToken cancellationToken)
    {
        var settings = http.Value;
        var host = IPAddress.Parse(settings.HttpHost) switch
        {
            var any when any.Equals(IPAddress.Any) => IPAddress.Loopback,
            var any when any.Equals(IPAddress.IPv6Any) => IPAddress.IPv6Loopback,
            var address => address,
        };
        using var handler = new SocketsHttpHandler { UseProxy = false };
        using var client = new HttpClient(handler)
        {
            BaseAddress = new UriBuilder("http", host.ToString(), settings.HttpPort).Uri,
            Timeout = TimeSpan.FromSeconds(2),
        };
        try
        {
            for (var i = 0; i < ProbePasses; i++)
            {
                using var probe = new HttpRequestMessage(HttpMethod.Get, new Uri("/health/ready", UriKind.Relative));
                probe.Headers.ConnectionClose = true;
                using var answer = await client.SendAsync(probe, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // The probes' path stays cold (no answer, or none within the timeout); the warm-up goes on.
        }
    }

    /// <summary>More than the runtime's 30 calls before it counts a method for tier 1.</summary>
    private const int ProbePasses = 40;

    /// <summary>
    /// Resolves the run jobs' services from the worker's own container, each in a scope as Hangfire's activator does
    /// for a job, <see cref="Activations"/> times, and lets them go unused (their constructors only keep what they are
    /// given). The container builds a service by reflection at first and compiles its construction on its second
    /// request, in the background; the warm-up's own container (<see cref="Compose"/>) is another, so without this the
    /// first jobs of the first load pay both (measured: 24 constructor stubs compiled in a worker's first burst).
    /// </summary>
    private async Task ActivateJobServicesAsync()
    {
        for (var i = 0; i < Activations; i++)
        {
            // Disposed asynchronously: a service that can only be disposed so would otherwise end the warm-up.
            await using var scope = scopes.CreateAsyncScope();
            _ = scope.ServiceProvider.GetRequiredService<IRunBatchJob>();
            _ = scope.ServiceProvider.GetRequiredService<IRunJob>();
        }
    }

    /// <summary>More than the two requests after which the container compiles a service's construction.</summary>
    private const int Activations = 3;

    /// <summary>
    /// Adds <see cref="RunsPerRound"/> runs whenever fewer than <see cref="Outstanding"/> wait, until the runtime has
    /// compiled their path while the target's calls went on, or the warm-up's time is up.
    /// </summary>
    private async Task FeedAsync(IServiceProvider services, LoopbackTarget target, CancellationToken cancellationToken)
    {
        var data = services.GetRequiredService<NpgsqlDataSource>();
        var enqueuer = services.GetRequiredService<RunEnqueuer>();
        var compilation = new CompilationQuiet();
        var lastLook = time.GetTimestamp();
        try
        {
            while (true)
            {
                if (await WaitingAsync(data, cancellationToken) < Outstanding)
                {
                    var made = await InsertAsync(data, target.Url, cancellationToken);
                    await enqueuer.EnqueueManyAsync(made[..^LaterRuns], cancellationToken, RunsPerBatchJob);
                    await enqueuer.EnqueueManyAsync(made[^LaterRuns..], cancellationToken);
                }
                await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken);
                if (time.GetElapsedTime(lastLook) >= CompilationQuiet.Look)
                {
                    if (compilation.LookIsQuiet(target.Answered))
                    {
                        return;
                    }
                    lastLook = time.GetTimestamp();
                }
            }
        }
        catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
        {
            // WarmUp:Seconds are up.
        }
    }

    private static async Task<long> WaitingAsync(NpgsqlDataSource data, CancellationToken cancellationToken)
    {
        await using var count = data.CreateCommand("SELECT count(*) FROM scheduler.runs WHERE status IN ('PENDING', 'RUNNING')");
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// <see cref="RunsPerRound"/> IMMEDIATE schedules on the target, a run each, with a sampled trace context as a
    /// client's create leaves them; the last <see cref="LaterRuns"/> due a little later.
    /// </summary>
    private static async Task<RunToEnqueue[]> InsertAsync(NpgsqlDataSource data, Uri target, CancellationToken cancellationToken)
    {
        await using var insert = data.CreateCommand("""
            WITH t AS (
              INSERT INTO scheduler.targets (inline, url, method, headers, body_template, timeout_seconds, created_at, updated_at)
              SELECT true, $1, 'POST', '{"Content-Type": "application/json"}', '{"warm_up": true}', 30, now(), now()
              FROM generate_series(1, $2) RETURNING id),
            s AS (
              INSERT INTO scheduler.schedules (target_id, schedule_type, status, overlap_policy, catch_up_policy, expected_http_status,
                                               callback_headers, no_response, source, remarks, created_at, updated_at, trace_parent)
              SELECT id, 'IMMEDIATE', 'ACTIVE', 'ALLOW', 'ONE', '{}', '{}', false, 'api', '{}', now(), now(),
                     '00-' || md5(random()::text) || '-' || left(md5(random()::text), 16) || '-01'
              FROM t RETURNING id, trace_parent)
            INSERT INTO scheduler.runs (schedule_id, due_at, status, trigger, attempt_count, retry_requested, remarks, created_at, updated_at, trace_parent)
            SELECT id, now() + CASE WHEN row_number() OVER (ORDER BY id) > $2 - $3 THEN $4 ELSE interval '0' END,
                   'PENDING', 'IMMEDIATE', 0, false, '{}', now(), now(), trace_parent
            FROM s RETURNING id, schedule_id, due_at
            """);
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = target.ToString() });
        insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = RunsPerRound });
        insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = LaterRuns });
        insert.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = Later });
        var made = new List<RunToEnqueue>(RunsPerRound);
        await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            made.Add(new RunToEnqueue(reader.GetInt64(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2)));
        }
        return [.. made.OrderBy(r => r.DueAt)];
    }

    /// <summary>The warm-up's runs, and how they ended, e.g. <c>SUCCESS 4950, PENDING 50</c> (those the server stopped before).</summary>
    private static async Task<(long Runs, string Outcome)> OutcomeAsync(NpgsqlDataSource data)
    {
        await using var command = data.CreateCommand("SELECT status::text, count(*) FROM scheduler.runs GROUP BY 1 ORDER BY 2 DESC");
        await using var reader = await command.ExecuteReaderAsync();
        var (runs, parts) = (0L, new List<string>());
        while (await reader.ReadAsync())
        {
            runs += reader.GetInt64(1);
            parts.Add($"{reader.GetString(0)} {reader.GetInt64(1)}");
        }
        return (runs, parts.Count == 0 ? "none" : string.Join(", ", parts));
    }

    /// <summary>
    /// The worker's own registrations on the warm-up's database, with its own Hangfire storage and client, loopback
    /// targets allowed (the one it calls), no proxy, no logs, and its metrics under <see cref="MeterName"/>.
    /// </summary>
    private ServiceProvider Compose(RehearsalDatabase own)
    {
        var settings = new ConfigurationBuilder().AddConfiguration(configuration).AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{DatabaseOptions.Section}:{nameof(DatabaseOptions.ConnectionString)}"] = own.Options.ConnectionString,
            [$"{DatabaseOptions.Section}:{nameof(DatabaseOptions.HangfireConnectionString)}"] = own.Options.HangfireConnectionString,
            [$"{DatabaseOptions.Section}:{nameof(DatabaseOptions.SessionConnectionString)}"] = own.Options.SessionConnectionString,
            [$"{DatabaseOptions.Section}:{nameof(DatabaseOptions.HangfireSessionConnectionString)}"] = own.Options.HangfireSessionConnectionString,
            [$"{OutboundOptions.Section}:{nameof(OutboundOptions.AllowPrivateNetworks)}"] = "true",
            [$"{OutboundOptions.Section}:{nameof(OutboundOptions.Proxy)}"] = "",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(settings);
        services.AddWorkerServices(settings, "worker-warm-up");
        services.AddSingleton(worker);
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddMetrics();
        services.AddOptions<MetricsOptions>();
        services.AddSingleton<DueWorkProbe>();
        services.AddSingleton(sp => new SchedulerMetrics(sp.GetRequiredService<IMeterFactory>(), sp.GetRequiredService<DueWorkProbe>(), MeterName));
        services.AddSingleton<JobStorage>(sp => CoreServiceCollectionExtensions.CreateHangfireStorage(
            own.Connections, own.Options, engine.Value, sp.GetRequiredService<NpgsqlDataSource>(), NullLoggerFactory.Instance, metrics: null));
        services.AddSingleton<IBackgroundJobClient>(sp => new BackgroundJobClient(sp.GetRequiredService<JobStorage>()));
        return services.BuildServiceProvider();
    }

    /// <summary>Drops the warm-up's database; false, said why, when it could not (a later start of a process drops it).</summary>
    private Task<bool> DropAsync(RehearsalDatabase own) => own.TryDropAsync(message => Log.RehearsalDatabaseNotDropped(logger, own.Name, message));

    /// <summary>Each job's scope from the warm-up's container, and its jobs' spans the warm-up's (Hangfire's worker threads are the warm-up's own).</summary>
    private sealed class WarmUpJobActivator(IServiceScopeFactory scopes) : AspNetCoreJobActivator(scopes)
    {
        public override JobActivatorScope BeginScope(JobActivatorContext context)
        {
            _ = WarmUpTraces.Begin();
            return base.BeginScope(context);
        }
    }
}
