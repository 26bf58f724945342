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
            })
            .ValidateOnStart();
        services.AddOptions<EngineOptions>().BindConfiguration(EngineOptions.Section).ValidateOnStart();
        services.AddOptions<ExecutionOptions>().BindConfiguration(ExecutionOptions.Section).ValidateOnStart();
        services.AddOptions<SchedulingOptions>().BindConfiguration(SchedulingOptions.Section).ValidateOnStart();
        services.AddOptions<ReconciliationOptions>().BindConfiguration(ReconciliationOptions.Section).ValidateOnStart();
        services.AddOptions<OutboundOptions>().BindConfiguration(OutboundOptions.Section).ValidateOnStart();
        services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OutboundOptions>, OutboundOptionsValidator>());
        services.TryAddSingleton<OutboundAddressPolicy>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EngineOptions>, EngineOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ExecutionOptions>, ExecutionOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SchedulingOptions>, SchedulingOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReconciliationOptions>, ReconciliationOptionsValidator>());

        services.TryAddSingleton(sp =>
        {
            var builder = new NpgsqlDataSourceBuilder(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.ConnectionString);
            builder.ConnectionStringBuilder.ApplicationName ??= $"scheduler-{processName}";
            TuneForShortStatements(builder.ConnectionStringBuilder);
            if (builder.ConnectionStringBuilder.MaxPoolSize == DefaultMaxPoolSize)
            {
                builder.ConnectionStringBuilder.MaxPoolSize = SchedulerMaxPoolSize;
            }
            return builder.Build();
        });
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

        services.AddHangfire((sp, config) => ConfigureHangfire(config, sp, runsServer: processName == "worker"));
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

    /// <summary>
    /// The Hangfire connection string with a pool sized to the process. In a worker, a Hangfire worker holds a
    /// connection while it processes a job and takes another to change the job's state, and Hangfire's own
    /// background processes need a few: twice the workers plus ten (measured: workers + 10 made W4's p99
    /// lateness 389 ms instead of 10 ms; and a pool smaller than the workers starves them). A process without
    /// a Hangfire server (the API) only creates jobs and serves the dashboard. New jobs are announced on one
    /// listener per process (SharedListenerJobQueue), outside the pool. Npgsql's default pool size is replaced
    /// by what the process needs; a size given in the connection string is only ever raised to fit the workers.
    /// </summary>
    internal static string HangfireConnectionString(DatabaseOptions db, EngineOptions engine, bool runsServer)
    {
        var builder = new NpgsqlConnectionStringBuilder(db.HangfireConnectionString);
        TuneForShortStatements(builder);
        var needed = runsServer ? (engine.WorkerCount * 2) + 10 : 20;
        if (builder.MaxPoolSize == DefaultMaxPoolSize || (runsServer && builder.MaxPoolSize < needed))
        {
            builder.MaxPoolSize = needed;
        }
        return builder.ConnectionString;
    }

    /// <summary>Npgsql's default Maximum Pool Size; any other value was given on purpose and is kept.</summary>
    private const int DefaultMaxPoolSize = 100;

    /// <summary>
    /// Scheduler's own pool per process. Concurrent runs share statements (StatementBatcher) and concurrent
    /// requests share commits (ScheduleWriter), so few connections carry the load; a small pool keeps
    /// API + workers under PostgreSQL's max_connections when a target fails and every process is busy
    /// (measured: with Npgsql's default of 100 per pool, 1,667 failing calls a second exhausted the
    /// server's 300 connections).
    /// </summary>
    private const int SchedulerMaxPoolSize = 50;

    /// <summary>
    /// Every statement here is short and most run thousands of times, each on a connection taken from the pool
    /// for it. By default Npgsql resets a pooled connection (DISCARD ALL) before reusing it, a round trip and a
    /// session reset per statement that measured as a fifth of the statements the server ran; nothing here
    /// leaves session state behind (no temporary tables, session settings or listeners on pooled connections),
    /// so that reset is off. Statements used a few times are prepared once per connection and reused.
    /// </summary>
    internal static void TuneForShortStatements(NpgsqlConnectionStringBuilder connection)
    {
        connection.NoResetOnClose = true;
        if (connection.MaxAutoPrepare == 0)
        {
            connection.MaxAutoPrepare = 64;
            connection.AutoPrepareMinUsages = 3;
        }
    }

    private static void ConfigureHangfire(IGlobalConfiguration config, IServiceProvider sp, bool runsServer)
    {
        var db = sp.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        var engine = sp.GetRequiredService<IOptions<EngineOptions>>().Value;
        var storage = new PostgreSqlStorageOptions
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
        var connectionString = HangfireConnectionString(db, engine, runsServer);
        var hangfire = config.SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UsePostgreSqlStorage(o => o.UseNpgsqlConnection(connectionString), storage);
        var queueLogger = sp.GetRequiredService<ILoggerFactory>().CreateLogger<SharedListenerJobQueue>();
        var queue = new SharedListenerJobQueue(hangfire.Entry, connectionString, storage, queueLogger,
            new RefetchedJobs(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetService<Observability.SchedulerMetrics>(), queueLogger));
        hangfire.Entry.QueueProviders.Add(
            new SharedListenerJobQueueProvider(queue, hangfire.Entry.QueueProviders.GetProvider(JobQueues.Default)), JobQueues.All);
        // Our runs table is the history: Hangfire keeps finished jobs only for a while.
        hangfire.Entry.JobExpirationTimeout = engine.JobExpiration;
        hangfire
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
