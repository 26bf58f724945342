using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Scheduler.Core.Jobs;
using Scheduler.Core.Persistence;
using Scheduler.Core.Security;

namespace Scheduler.Core.Hosting;

/// <summary>What both processes share: options, the clock, the database, Hangfire's storage and client.</summary>
public static class CoreServiceCollectionExtensions
{
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The host's configuration.</param>
    /// <param name="processName">Shown in every log line (<c>api</c>, <c>worker</c>, <c>migrate</c>).</param>
    public static IServiceCollection AddSchedulerCore(this IServiceCollection services, IConfiguration configuration, string processName)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSchedulerLogging(configuration, processName);
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.Section)
            .PostConfigure(o =>
            {
                if (string.IsNullOrWhiteSpace(o.ConnectionString))
                {
                    o.ConnectionString = configuration.GetConnectionString("Scheduler") ?? "";
                }
                if (string.IsNullOrWhiteSpace(o.HangfireConnectionString))
                {
                    o.HangfireConnectionString = configuration.GetConnectionString("Hangfire") ?? o.ConnectionString;
                }
                if (string.IsNullOrWhiteSpace(o.SessionConnectionString))
                {
                    o.SessionConnectionString = configuration.GetConnectionString("SchedulerSession") ?? o.ConnectionString;
                }
                if (string.IsNullOrWhiteSpace(o.HangfireSessionConnectionString))
                {
                    o.HangfireSessionConnectionString = configuration.GetConnectionString("HangfireSession")
                        ?? (o.HangfireConnectionString == o.ConnectionString ? o.SessionConnectionString : o.HangfireConnectionString);
                }
            })
            .ValidateOnStart();
        services.AddOptions<EngineOptions>().BindConfiguration(EngineOptions.Section).ValidateOnStart();
        services.AddOptions<ExecutionOptions>().BindConfiguration(ExecutionOptions.Section).ValidateOnStart();
        services.AddOptions<SchedulingOptions>().BindConfiguration(SchedulingOptions.Section).ValidateOnStart();
        services.AddOptions<ReconciliationOptions>().BindConfiguration(ReconciliationOptions.Section).ValidateOnStart();
        services.AddOptions<OutboundOptions>().BindConfiguration(OutboundOptions.Section).ValidateOnStart();
        services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.Section).ValidateOnStart();
        services.AddOptions<WarmUpOptions>().BindConfiguration(WarmUpOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WarmUpOptions>, WarmUpOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OutboundOptions>, OutboundOptionsValidator>());
        services.TryAddSingleton<OutboundAddressPolicy>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EngineOptions>, EngineOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ExecutionOptions>, ExecutionOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SchedulingOptions>, SchedulingOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReconciliationOptions>, ReconciliationOptionsValidator>());

        services.TryAddSingleton(sp => new DatabaseConnections(
            sp.GetRequiredService<IOptions<DatabaseOptions>>().Value, sp.GetRequiredService<IOptions<EngineOptions>>().Value, processName));
        services.TryAddSingleton(sp => NpgsqlDataSource.Create(sp.GetRequiredService<DatabaseConnections>().Scheduler));
        services.TryAddSingleton<SessionConnections>();
        services.AddDbContextPool<SchedulerDbContext>((sp, options) =>
            SchedulerDbContextOptions.Configure(options, sp.GetRequiredService<NpgsqlDataSource>())
                .AddInterceptors(sp.GetRequiredService<SecretsInterceptor>()));
        // One key ring for every process, in PostgreSQL: what the API encrypts, any worker decrypts.
        services.AddDataProtection().SetApplicationName("Scheduler").PersistKeysToDbContext<SchedulerDbContext>();
        services.TryAddSingleton<SecretProtector>();
        services.TryAddSingleton<SecretsInterceptor>();
        services.TryAddSingleton<DatabaseMigrator>();
        services.TryAddSingleton<DatabaseReadiness>();
        services.TryAddSingleton<RunEnqueuer>();
        services.TryAddSingleton<CallbackEnqueuer>();
        services.TryAddSingleton<FailedRunJobs>();
        services.TryAddSingleton<RunRedrive>();
        services.TryAddSingleton<Scheduling.DispatchStore>();
        services.TryAddSingleton<Reconciliation.Reconciler>();
        services.TryAddSingleton<WorkerHeartbeats>();

        services.AddHangfire((sp, config) => ConfigureHangfire(config, sp));
        return services;
    }

    /// <summary>
    /// Waits at startup until the database answers and carries every migration, so a process started
    /// before <c>migrate</c> finished waits instead of failing on missing tables. Add it before the
    /// Hangfire server so it runs first.
    /// </summary>
    public static IServiceCollection AddSchemaReadinessGate(this IServiceCollection services)
    {
        services.AddHostedService<SchemaReadinessGate>();
        return services;
    }

    private static void ConfigureHangfire(IGlobalConfiguration config, IServiceProvider sp)
    {
        var engine = sp.GetRequiredService<IOptions<EngineOptions>>().Value;
        config.SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseStorage(CreateHangfireStorage(sp.GetRequiredService<DatabaseConnections>(), sp.GetRequiredService<IOptions<DatabaseOptions>>().Value,
                engine, sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<ILoggerFactory>(), sp.GetService<Observability.SchedulerMetrics>()));
        config
            // Hangfire's ten automatic retries are off for what a run does: a run records its own attempts and
            // retries. Hangfire retries a job only when the job could not reach the database, which says
            // nothing about the target and makes no second call. A job whose runs failed (RunsFailedException,
            // thrown after they were recorded) is not among these: it stays Failed, for a person to look at.
            .UseFilter(new AutomaticRetryAttribute
            {
                Attempts = 5,
                DelaysInSeconds = [1, 5, 15, 30, 60],
                OnlyOn = [typeof(NpgsqlException), typeof(TimeoutException)],
                OnAttemptsExceeded = AttemptsExceededAction.Fail,
            })
            .UseFilter(new ManualRequeueFilter())
            .UseFilter(new RunJobStatesFilter())
            .UseFilter(new ExpireFailedJobsFilter(engine.JobExpiration));
    }

    /// <summary>
    /// Hangfire's storage on <paramref name="connections"/>' database, with Scheduler's job queue (one LISTEN per
    /// process, <see cref="SharedListenerJobQueue"/>): the processes' own, and the API's warm-up's on a database of its own.
    /// </summary>
    public static PostgreSqlStorage CreateHangfireStorage(
        DatabaseConnections connections, DatabaseOptions db, EngineOptions engine, NpgsqlDataSource scheduler, ILoggerFactory loggers, Observability.SchedulerMetrics? metrics)
    {
        ArgumentNullException.ThrowIfNull(connections);
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(loggers);
        var options = new PostgreSqlStorageOptions
        {
            SchemaName = db.HangfireSchema,
            // Schema changes happen in the explicit migrate step, never as a side effect of starting a replica.
            PrepareSchemaIfNecessary = false,
            // New jobs wake workers through SharedListenerJobQueue's one LISTEN per process instead.
            EnableLongPolling = false,
            UseSlidingInvisibilityTimeout = true,
            InvisibilityTimeout = engine.InvisibilityTimeout,
            QueuePollInterval = engine.QueuePollInterval,
            DistributedLockTimeout = engine.DistributedLockTimeout,
        };
        var connectionString = connections.Hangfire;
        var storage = new PostgreSqlStorage(new Hangfire.PostgreSql.Factories.NpgsqlConnectionFactory(connectionString, options), options);
        var queueLogger = loggers.CreateLogger<SharedListenerJobQueue>();
        var queue = new SharedListenerJobQueue(storage, connectionString, connections.HangfireSession, options, queueLogger,
            new RefetchedJobs(scheduler, metrics, queueLogger));
        storage.QueueProviders.Add(
            new SharedListenerJobQueueProvider(queue, storage.QueueProviders.GetProvider(JobQueues.Default)), JobQueues.All);
        // Our runs table is the history: Hangfire keeps finished jobs only for a while.
        storage.JobExpirationTimeout = engine.JobExpiration;
        return storage;
    }
}

/// <summary>The one place that knows how the context talks to PostgreSQL (runtime, design time, tests).</summary>
public static class SchedulerDbContextOptions
{
    public const string MigrationsHistoryTable = "__ef_migrations_history";

    public static DbContextOptionsBuilder Configure(DbContextOptionsBuilder options, NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options
            .UseNpgsql(dataSource, npgsql => npgsql.MigrationsHistoryTable(MigrationsHistoryTable, SchedulerDbContext.Schema))
            .UseSnakeCaseNamingConvention();
    }
}
