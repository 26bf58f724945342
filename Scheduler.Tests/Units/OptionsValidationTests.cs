using Scheduler.Core.Hosting;
using Scheduler.Core.Security;

namespace Scheduler.Tests.Units;

public sealed class OptionsValidationTests
{
    [Test]
    public void Defaults_are_valid() => Assert.Multiple(() =>
    {
        Assert.That(new EngineOptionsValidator().Validate(null, new EngineOptions()).Succeeded, Is.True);
        Assert.That(new ExecutionOptionsValidator().Validate(null, new ExecutionOptions()).Succeeded, Is.True);
        Assert.That(new DatabaseOptionsValidator().Validate(null, new DatabaseOptions { ConnectionString = "Host=x", HangfireConnectionString = "Host=x" }).Succeeded, Is.True);
        Assert.That(new ReconciliationOptionsValidator().Validate(null, new ReconciliationOptions()).Succeeded, Is.True);
    });

    [Test]
    public void Reconciliation_accepts_cron_with_or_without_seconds_and_names_a_bad_one() => Assert.Multiple(() =>
    {
        var validator = new ReconciliationOptionsValidator();
        Assert.That(validator.Validate(null, new ReconciliationOptions { Cron = "*/5 * * * *" }).Succeeded, Is.True);
        Assert.That(validator.Validate(null, new ReconciliationOptions { Cron = "*/30 * * * * *" }).Succeeded, Is.True);
        Assert.That(validator.Validate(null, new ReconciliationOptions { Cron = "" }).Succeeded, Is.True, "empty turns the recurring job off");
        Assert.That(validator.Validate(null, new ReconciliationOptions { Cron = "every minute", Grace = TimeSpan.Zero }).Failures,
            Has.Some.Contains("Reconciliation:Cron").And.Some.Contains("Reconciliation:Grace"));
    });

    [Test]
    public void A_worker_sizes_its_pools_to_stay_within_its_budget_and_keeps_a_given_size() => Assert.Multiple(() =>
    {
        static DatabaseConnections Connections(string connectionString, int workers = 20, string process = "worker") =>
            new(new DatabaseOptions { ConnectionString = connectionString, HangfireConnectionString = connectionString }, new EngineOptions { WorkerCount = workers }, process);
        static int Pool(string connectionString) => new Npgsql.NpgsqlConnectionStringBuilder(connectionString).MaxPoolSize;

        var worker = Connections("Host=x");
        Assert.That((Pool(worker.Scheduler), Pool(worker.Hangfire), worker.MostOpenAtOnce), Is.EqualTo((10, 11, 25)), "docs/operations.md: at most 25 a worker");
        Assert.That(Pool(Connections("Host=x", workers: 4).Hangfire), Is.EqualTo(3), "half the workers and one");
        Assert.That(Pool(Connections("Host=x", workers: 1).Hangfire), Is.EqualTo(2), "at least two");
        Assert.That(Pool(Connections("Host=x", workers: 200).Hangfire), Is.EqualTo(11), "at most 11");
        Assert.That(Pool(Connections("Host=x", process: "api").Hangfire), Is.EqualTo(20), "the API only creates jobs");
        var given = Connections("Host=x;Maximum Pool Size=30");
        Assert.That((Pool(given.Scheduler), Pool(given.Hangfire), given.MostOpenAtOnce), Is.EqualTo((30, 30, 64)), "a size given is kept, and counted");
    });

    [Test]
    public void Connections_are_named_after_the_process_and_sessions_are_unpooled() => Assert.Multiple(() =>
    {
        var connections = new DatabaseConnections(new DatabaseOptions
        {
            ConnectionString = "Host=pgbouncer;Port=6432", HangfireConnectionString = "Host=pgbouncer;Port=6432", SessionConnectionString = "Host=db;Port=5432",
        }, new EngineOptions(), "worker");
        static Npgsql.NpgsqlConnectionStringBuilder Of(string connectionString) => new(connectionString);
        Assert.That(Of(connections.Scheduler).ApplicationName, Is.EqualTo("scheduler-worker"));
        Assert.That(Of(connections.Hangfire).ApplicationName, Is.EqualTo("scheduler-worker-hangfire"));
        Assert.That((Of(connections.Session).Host, Of(connections.Session).Pooling, Of(connections.Session).ApplicationName), Is.EqualTo(("db", false, "scheduler-worker-session")));
        Assert.That((Of(connections.HangfireSession).Host, Of(connections.HangfireSession).Pooling), Is.EqualTo(("pgbouncer", false)),
            "without a session string of its own, Hangfire's listener takes Hangfire's");
        Assert.That(Of(new DatabaseConnections(new DatabaseOptions { ConnectionString = "Host=x;Application Name=mine", HangfireConnectionString = "Host=x" },
            new EngineOptions(), "api").Scheduler).ApplicationName, Is.EqualTo("mine"));
    });

    [Test]
    public void Statements_are_auto_prepared_unless_the_connection_string_says_otherwise() => Assert.Multiple(() =>
    {
        static int Prepared(string connectionString) => new Npgsql.NpgsqlConnectionStringBuilder(new DatabaseConnections(
            new DatabaseOptions { ConnectionString = connectionString, HangfireConnectionString = connectionString }, new EngineOptions(), "worker").Hangfire).MaxAutoPrepare;
        Assert.That(Prepared("Host=x"), Is.EqualTo(64));
        Assert.That(Prepared("Host=x;Max Auto Prepare=0"), Is.EqualTo(0), "a pooler without prepared statements (PgBouncer < 1.21)");
        Assert.That(Prepared("Host=x;maxautoprepare=0"), Is.EqualTo(0));
        Assert.That(Prepared("Host=x;Max Auto Prepare=8"), Is.EqualTo(8));
    });

    [Test]
    public void Outbound_proxy_is_a_proxy_url_or_nothing() => Assert.Multiple(() =>
    {
        var validator = new OutboundOptionsValidator();
        foreach (var good in new[] { null, "", "http://proxy.internal:3128", "http://user:p%40ss@10.0.0.1:3128/", "https://proxy:443", "socks5://127.0.0.1:1080" })
        {
            Assert.That(validator.Validate(null, new OutboundOptions { Proxy = good }).Succeeded, Is.True, good);
        }
        foreach (var bad in new[] { "proxy.internal:3128", "ftp://proxy:21", "http://proxy:3128/path", "http://proxy:3128/?q=1", "/relative" })
        {
            Assert.That(validator.Validate(null, new OutboundOptions { Proxy = bad }).Failures, Has.Some.Contains("Outbound:Proxy"), bad);
        }
    });

    [Test]
    public void Outbound_host_limits_are_within_the_targets_bounds_and_name_a_host() => Assert.Multiple(() =>
    {
        var validator = new OutboundOptionsValidator();
        static OutboundOptions With(string host, double? rate, int? concurrency) =>
            new() { HostLimits = { [host] = new HostLimitOptions { RateLimitPerSecond = rate, MaxConcurrency = concurrency } } };
        Assert.That(validator.Validate(null, With("api.partner.com", 0.5, 4)).Succeeded, Is.True);
        Assert.That(validator.Validate(null, With("10.0.0.7", null, 1)).Succeeded, Is.True);
        Assert.That(validator.Validate(null, With("api.partner.com", 0, null)).Failures, Has.Some.StartsWith("Outbound:HostLimits:api.partner.com:RateLimitPerSecond"));
        Assert.That(validator.Validate(null, With("api.partner.com", 10_001, null)).Failures, Has.Some.StartsWith("Outbound:HostLimits:api.partner.com:RateLimitPerSecond"));
        Assert.That(validator.Validate(null, With("api.partner.com", null, 0)).Failures, Has.Some.StartsWith("Outbound:HostLimits:api.partner.com:MaxConcurrency"));
        Assert.That(validator.Validate(null, With("https://api.partner.com:443", 1, null)).Failures, Has.Some.Contains("is not a host name"));
    });

    [Test]
    public void A_callback_profile_header_that_looks_encrypted_is_refused_at_startup()
    {
        var options = new Scheduler.Api.Compat.CompatOptions
        {
            CallbackProfiles = new()
            {
                ["erp"] = new() { Urls = ["https://erp.example.com/cb"], Headers = new() { ["Authorization"] = "enc:v1:CfDJ8abc" } },
            },
        };
        Assert.That(new Scheduler.Api.Compat.CompatOptionsValidator().Validate(null, options).Failures,
            Has.Some.Contains("Compat:CallbackProfiles:erp:Headers:Authorization must not start with 'enc:v1:'"));
    }

    [TestCase(-1)]
    [TestCase(121)]
    public void A_warm_up_out_of_range_is_refused_naming_the_key(int seconds) =>
        Assert.That(new Scheduler.Core.Hosting.WarmUpOptionsValidator().Validate(null, new Scheduler.Core.Hosting.WarmUpOptions { Seconds = seconds }).Failures,
            Has.Some.Contains("WarmUp:Seconds must be between 0 (off) and 120"));

    [Test]
    public void Each_bad_setting_is_named_with_its_configuration_key()
    {
        var engine = new EngineOptionsValidator().Validate(null, new EngineOptions { WorkerCount = 0, InvisibilityTimeout = TimeSpan.FromSeconds(1) });
        var execution = new ExecutionOptionsValidator().Validate(null, new ExecutionOptions { DefaultTimeoutSeconds = 0, LeaseRenewalSeconds = 60 });
        var database = new DatabaseOptionsValidator().Validate(null, new DatabaseOptions
        {
            ConnectionString = "", HangfireConnectionString = "Host=x;Nonsense=1", HangfireSchema = "Bad-Name", StatisticsInterval = TimeSpan.FromSeconds(-1),
        });
        var pools = new DatabaseOptionsValidator().Validate(null, new DatabaseOptions
        {
            ConnectionString = "Host=x;Minimum Pool Size=20;Maximum Pool Size=10", HangfireConnectionString = "Host=x", SessionConnectionString = "Host=x;Nonsense=1",
        });
        Assert.Multiple(() =>
        {
            Assert.That(engine.Failures, Has.Some.Contains("Hangfire:WorkerCount").And.Some.Contains("Hangfire:InvisibilityTimeout"));
            Assert.That(execution.Failures, Has.Some.Contains("Execution:DefaultTimeoutSeconds").And.Some.Contains("Execution:LeaseRenewalSeconds"));
            Assert.That(database.Failures, Has.Some.Contains("ConnectionStrings:Scheduler")
                .And.Some.Contains("Database:HangfireConnectionString").And.Some.Contains("Database:HangfireSchema").And.Some.Contains("Database:StatisticsInterval"));
            Assert.That(pools.Failures, Has.Some.Contains("ConnectionStrings:Scheduler").And.Some.Contains("Maximum Pool Size")
                .And.Some.Contains("ConnectionStrings:SchedulerSession"));
            Assert.That(pools.Failures!.Count(), Is.EqualTo(2));
        });
    }

    [Test]
    public void The_worker_health_port_listens_on_loopback_by_default_and_a_bad_address_or_port_is_named() => Assert.Multiple(() =>
    {
        var validator = new Scheduler.Worker.Hosting.WorkerHttpOptionsValidator();
        var defaults = new Scheduler.Worker.Hosting.WorkerHttpOptions();
        Assert.That((defaults.HttpHost, defaults.HttpPort), Is.EqualTo(("127.0.0.1", 8081)));
        Assert.That(validator.Validate(null, defaults).Succeeded, Is.True);
        Assert.That(validator.Validate(null, new Scheduler.Worker.Hosting.WorkerHttpOptions { HttpHost = "0.0.0.0", HttpPort = 19081 }).Succeeded, Is.True);
        Assert.That(validator.Validate(null, new Scheduler.Worker.Hosting.WorkerHttpOptions { HttpHost = "everywhere", HttpPort = 70000 }).Failures,
            Has.Some.Contains("Worker:HttpHost").And.Some.Contains("Worker:HttpPort"));
    });

    [Test]
    public void A_callback_profile_needs_the_urls_it_may_be_sent_to_and_matches_only_them() => Assert.Multiple(() =>
    {
        var validator = new Scheduler.Api.Compat.CompatOptionsValidator();
        var profile = new Scheduler.Api.Compat.CallbackProfile { Headers = { ["Authorization"] = "Bearer x" }, Urls = { "https://erp.example.com/callbacks/" } };
        Assert.That(validator.Validate(null, new Scheduler.Api.Compat.CompatOptions { CallbackProfiles = { ["erp"] = profile } }).Succeeded, Is.True);
        var unbound = new Scheduler.Api.Compat.CallbackProfile { Headers = { ["Authorization"] = "Bearer x" } };
        Assert.That(validator.Validate(null, new Scheduler.Api.Compat.CompatOptions { CallbackProfiles = { ["erp"] = unbound } }).Failures,
            Has.Some.Contains("Compat:CallbackProfiles:erp:Urls"));
        Assert.That(profile.Allows("https://ERP.example.com/callbacks/invoice?id=1"), Is.True);
        Assert.That(profile.Allows("https://erp.example.com/other"), Is.False, "another path");
        Assert.That(profile.Allows("http://erp.example.com/callbacks/"), Is.False, "another scheme");
        Assert.That(profile.Allows("https://erp.example.com:8443/callbacks/"), Is.False, "another port");
        Assert.That(profile.Allows("https://erp.example.com.evil.test/callbacks/"), Is.False, "another host");
    });

    [Test]
    public void The_active_schedules_limit_is_bounded() => Assert.Multiple(() =>
    {
        var validator = new Scheduler.Api.Security.LimitsOptionsValidator();
        Assert.That(validator.Validate(null, new Scheduler.Api.Security.LimitsOptions()).Succeeded, Is.True);
        Assert.That(new Scheduler.Api.Security.LimitsOptions().MaxActiveSchedulesPerKey, Is.EqualTo(100_000));
        Assert.That(validator.Validate(null, new Scheduler.Api.Security.LimitsOptions { MaxActiveSchedulesPerKey = 0 }).Failures,
            Has.Some.Contains("Limits:MaxActiveSchedulesPerKey"));
    });
}
