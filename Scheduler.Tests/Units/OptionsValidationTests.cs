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
    public void The_hangfire_pool_fits_the_workers_and_a_given_size_is_never_lowered() => Assert.Multiple(() =>
    {
        static int Pool(string connectionString, int workers, bool server = true) => new Npgsql.NpgsqlConnectionStringBuilder(
            CoreServiceCollectionExtensions.HangfireConnectionString(new DatabaseOptions { HangfireConnectionString = connectionString }, new EngineOptions { WorkerCount = workers }, server)).MaxPoolSize;
        Assert.That(Pool("Host=x;Maximum Pool Size=50", 60), Is.EqualTo(130), "each worker holds a connection while it processes a job and needs another for its state");
        Assert.That(Pool("Host=x", 20), Is.EqualTo(50), "Npgsql's default is replaced by what the workers need");
        Assert.That(Pool("Host=x;Maximum Pool Size=500", 20), Is.EqualTo(500));
        Assert.That(Pool("Host=x", 20, server: false), Is.EqualTo(20), "the API only creates jobs");
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

    [Test]
    public void Each_bad_setting_is_named_with_its_configuration_key()
    {
        var engine = new EngineOptionsValidator().Validate(null, new EngineOptions { WorkerCount = 0, InvisibilityTimeout = TimeSpan.FromSeconds(1) });
        var execution = new ExecutionOptionsValidator().Validate(null, new ExecutionOptions { DefaultTimeoutSeconds = 0, LeaseRenewalSeconds = 60 });
        var database = new DatabaseOptionsValidator().Validate(null, new DatabaseOptions { ConnectionString = "", HangfireConnectionString = "Host=x;Nonsense=1", HangfireSchema = "Bad-Name" });
        Assert.Multiple(() =>
        {
            Assert.That(engine.Failures, Has.Some.Contains("Hangfire:WorkerCount").And.Some.Contains("Hangfire:InvisibilityTimeout"));
            Assert.That(execution.Failures, Has.Some.Contains("Execution:DefaultTimeoutSeconds").And.Some.Contains("Execution:LeaseRenewalSeconds"));
            Assert.That(database.Failures, Has.Some.Contains("ConnectionStrings:Scheduler")
                .And.Some.Contains("Database:HangfireConnectionString").And.Some.Contains("Database:HangfireSchema"));
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
