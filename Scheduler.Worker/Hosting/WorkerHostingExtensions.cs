using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Hangfire;
using Scheduler.Core.Security;
using Hangfire.Server;
using Scheduler.Worker.Dispatch;
using Scheduler.Worker.Callbacks;
using Scheduler.Worker.NamedJobs;
using Scheduler.Worker.Runs;
using Scheduler.Worker.Runs.Store;

namespace Scheduler.Worker.Hosting;

/// <summary>The worker host: a Hangfire server that executes runs, and the HTTP client it calls targets with.</summary>
internal static class WorkerHostingExtensions
{
    public static HostApplicationBuilder AddSchedulerWorker(this HostApplicationBuilder builder)
    {
        // Runs waiting for their due time resume on thread-pool threads. The pool adds threads slowly
        // (about two a second) once its minimum is in use, and every thread it lacks at a due time is a
        // late call: measured here, p99 lateness 28 ms with the default minimum (2 on 2 cores), 7 ms with 64.
        var engineWorkers = builder.Configuration.GetValue($"{EngineOptions.Section}:{nameof(EngineOptions.WorkerCount)}", new EngineOptions().WorkerCount);
        ThreadPool.GetMinThreads(out var minWorkers, out var minIo);
        ThreadPool.SetMinThreads(Math.Max(minWorkers, Math.Clamp(engineWorkers * 3, 64, 1024)), minIo);

        var services = builder.Services;
        services.AddWorkerServices(builder.Configuration, "worker");
        services.AddSchedulerTelemetry(builder.Configuration, "worker");
        services.AddOptions<WorkerHttpOptions>().BindConfiguration(WorkerHttpOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WorkerHttpOptions>, WorkerHttpOptionsValidator>();
        services.AddSingleton<WorkerHealth>();
        services.AddSingleton<WorkerRehearsal>();
        // First of all: probes are answered while the worker waits for the schema, and until it has stopped.
        services.AddHostedService<WorkerHealthServer>();
        // Before the Hangfire server, so the server starts only once the schema is there.
        services.AddSchemaReadinessGate();
        services.AddHostedService<WorkerWarmup>();
        services.AddHostedService<NamedJobRegistration>();
        services.AddHostedService<TableStatistics>();
        services.AddHostedService(sp => sp.GetRequiredService<WorkerRehearsal>());
        // Hangfire runs every registered IBackgroundProcess inside the worker's server.
        services.AddSingleton<IBackgroundProcess, Dispatcher>();

        services.AddHangfireServer((sp, server) =>
        {
            var engine = sp.GetRequiredService<IOptions<EngineOptions>>().Value;
            server.ServerName = sp.GetRequiredService<WorkerIdentity>().Name;
            server.WorkerCount = engine.WorkerCount;
            server.Queues = JobQueues.All;
            server.SchedulePollingInterval = engine.SchedulePollingInterval;
            server.HeartbeatInterval = engine.HeartbeatInterval;
            server.ServerTimeout = engine.ServerTimeout;
            server.ServerCheckInterval = engine.HeartbeatInterval;
            // On SIGTERM workers stop fetching at once; running jobs keep their (uncancelled) token for the
            // grace period, then are cancelled and hand their runs back, with a few seconds to do so.
            server.StopTimeout = engine.ShutdownTimeout;
            server.ShutdownTimeout = engine.ShutdownTimeout + TimeSpan.FromSeconds(5);
        });
        // The host waits longer than Hangfire's whole shutdown, so nothing is cut off.
        services.AddOptions<HostOptions>().Configure<IOptions<EngineOptions>>((host, engine) =>
            host.ShutdownTimeout = engine.Value.ShutdownTimeout + TimeSpan.FromSeconds(10));

        return builder;
    }

    /// <summary>
    /// The worker's services without its hosted ones and its Hangfire server: what executes runs. The worker's host is
    /// composed from them, and so is its warm-up's second container, on a database of its own (<see cref="WorkerRehearsal"/>).
    /// </summary>
    internal static IServiceCollection AddWorkerServices(this IServiceCollection services, IConfiguration configuration, string processName)
    {
        services.AddSchedulerCore(configuration, processName);
        services.AddSingleton<WorkerIdentity>();
        services.AddSingleton<RunPlanQuery>();
        services.AddSingleton<RunClaimStatement>();
        services.AddSingleton<RunLeaseStatements>();
        services.AddSingleton<RunSkipStatements>();
        services.AddSingleton<RunFinishStatement>();
        services.AddSingleton<RunClaimer>();
        services.AddSingleton<LeaseKeeper>();
        services.AddSingleton<OverlapGate>();
        services.AddSingleton<TargetLimitStatements>();
        services.AddSingleton<TargetLimits>();
        services.AddSingleton<RetryDecision>();
        services.AddSingleton<RunMetering>();
        services.AddSingleton<CompletionStatements>();
        services.AddSingleton<CallbackCompletion>();
        services.AddSingleton<Continuations>();
        services.AddSingleton<HttpCallExecutor>();
        services.AddSingleton<GuardedConnector>();
        services.AddSingleton<AttemptTracing>();
        services.AddSingleton<RunExecution>();
        services.AddSingleton<RunHandOff>();
        services.AddScoped<IRunJob, RunJob>();
        services.AddScoped<IRunBatchJob, RunBatchJob>();
        services.AddScoped<ICallbackJob, CallbackJob>();
        services.AddScoped<IMaintenanceJob, MaintenanceJob>();

        // Named jobs: the built-ins; an application adds its own the same way.
        services.AddSingleton<RetentionJob>();
        services.AddSingleton<INamedJob, EchoJob>();
        services.AddSingleton<INamedJob, SleepJob>();
        services.AddSingleton<INamedJob, FailJob>();
        services.AddSingleton<NamedJobRunner>();

        services.AddTransient<RedirectFollower>();
        services.AddTransient<ProxiedTargetGuard>();
        var http = services.AddHttpClient(HttpCallExecutor.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var execution = sp.GetRequiredService<IOptions<ExecutionOptions>>().Value;
                var proxy = sp.GetRequiredService<IOptions<OutboundOptions>>().Value.ProxyUri;
                return new SocketsHttpHandler
                {
                    // One pool per target host; connections are recycled so DNS changes are seen.
                    PooledConnectionLifetime = TimeSpan.FromSeconds(execution.PooledConnectionLifetimeSeconds),
                    PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
                    MaxConnectionsPerServer = 256,
                    // RedirectFollower follows them, keeping secrets with their origin.
                    AllowAutoRedirect = false,
                    AutomaticDecompression = DecompressionMethods.None,
                    UseCookies = false,
                    // Only Outbound:Proxy names a proxy: left on, the handler would take one from HTTP_PROXY,
                    // HTTPS_PROXY or ALL_PROXY, and connect there instead of to the guarded target.
                    UseProxy = proxy is not null,
                    Proxy = proxy is null ? null : Proxy(proxy),
                    // The SSRF guard: every connection, redirects included, goes to a checked address.
                    ConnectCallback = sp.GetRequiredService<GuardedConnector>().ConnectAsync,
                };
            })
            // The handler's own connection lifetime does DNS refresh; no need to rotate handlers.
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        var execution = configuration.GetSection(ExecutionOptions.Section).Get<ExecutionOptions>() ?? new ExecutionOptions();
        if (execution.CircuitBreakerEnabled)
        {
            // Timeouts and retries are the run's own (per target, durable); the pipeline only breaks circuits.
            http.AddResilienceHandler("per-host", pipeline => pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
            {
                FailureRatio = execution.CircuitBreakerFailureRatio,
                MinimumThroughput = execution.CircuitBreakerMinimumThroughput,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = TimeSpan.FromSeconds(execution.CircuitBreakerBreakSeconds),
            })).SelectPipelineByAuthority();
        }
        // Inside the circuit breaker, which judges the call as a whole; the guard sees every hop.
        http.AddHttpMessageHandler<RedirectFollower>().AddHttpMessageHandler<ProxiedTargetGuard>();
        return services;
    }

    private static WebProxy Proxy(Uri address)
    {
        var proxy = new WebProxy(new UriBuilder(address) { UserName = "", Password = "" }.Uri) { BypassProxyOnLocal = false };
        if (address.UserInfo.Length > 0)
        {
            var (user, password) = address.UserInfo.Split(':', 2) is [var u, var p] ? (u, p) : (address.UserInfo, "");
            proxy.Credentials = new NetworkCredential(Uri.UnescapeDataString(user), Uri.UnescapeDataString(password));
        }
        return proxy;
    }
}
