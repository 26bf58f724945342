using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Scheduler.Api.Contracts;
using Scheduler.Api.Hosting;
using Scheduler.Api.Schedules;
using Scheduler.Api.Targets;

namespace Scheduler.Tests.Api.Schedules;

/// <summary>
/// The services the endpoints and the seed adapters call, resolved from a host built from the API's
/// registrations alone: no middleware, no endpoints mapped, nothing started. The rules read their limits
/// and the SSRF policy from DI, so such a host enforces them as the running API does.
/// </summary>
public sealed class ScheduleServiceTests
{
    private static readonly ClaimsPrincipal Caller = new(new ClaimsIdentity([new Claim(ClaimTypes.Name, "test")], "test"));

    [SetUp]
    public Task SetUpAsync() => TestDatabase.ResetAsync();

    private static WebApplication RegistrationsOnly(params (string Key, string Value)[] settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection([
            new("ConnectionStrings:Scheduler", TestAssemblySetup.ConnectionString),
            new("Serilog:MinimumLevel:Default", "Warning")]);
        // A source of its own, so a setting may also replace one of the above.
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.AddSchedulerApi();
        return builder.Build();
    }

    private static ScheduleRequest Immediate(TargetRequest target, string? callbackUrl = null) =>
        new(null, null, target, "IMMEDIATE", null, null, null, null, null, null, null, null, null, CallbackUrl: callbackUrl);

    private static TargetRequest Target(string url, string? name = null) => new(name, url, "POST", null, null, null, null);

    [Test]
    public async Task A_host_without_the_startup_refuses_loopback_targets_and_callbacks()
    {
        await using var app = RegistrationsOnly();
        await using var scope = app.Services.CreateAsyncScope();
        var schedules = scope.ServiceProvider.GetRequiredService<ScheduleService>();
        var targets = scope.ServiceProvider.GetRequiredService<TargetService>();

        var (schedule, errors) = await schedules.CreateAsync(
            Immediate(Target("http://127.0.0.1:9/hook"), callbackUrl: "http://localhost/done"), ScheduleOrigin.Api, Caller, CancellationToken.None);
        var (target, targetErrors) = await targets.CreateAsync(Target("http://[::1]/hook", name: "loopback"), CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(schedule, Is.Null);
            Assert.That(errors.ToDictionary(), Does.ContainKey("target.url").And.ContainKey("callback_url"));
            Assert.That(target, Is.Null);
            Assert.That(targetErrors.ToDictionary(), Does.ContainKey("url"));
            Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.schedules"), Is.Zero, "nothing written");
            Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.targets"), Is.Zero, "nothing written");
        });
    }

    [Test]
    public async Task A_host_without_the_startup_enforces_the_configured_limits()
    {
        await using var app = RegistrationsOnly(("Limits:MaxUrlLength", "64"), ("Limits:MaxBulkSchedules", "2"));
        await using var scope = app.Services.CreateAsyncScope();
        var schedules = scope.ServiceProvider.GetRequiredService<ScheduleService>();
        var longUrl = "https://example.com/" + new string('a', 60);

        var (one, oneErrors) = await schedules.CreateAsync(Immediate(Target(longUrl)), ScheduleOrigin.Api, Caller, CancellationToken.None);
        var fine = Immediate(Target("https://example.com/hook"));
        var (many, manyErrors) = await schedules.CreateManyAsync([fine, fine, fine], Caller, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(one, Is.Null);
            Assert.That(oneErrors.ToDictionary()["target.url"], Has.Some.Contains("at most 64 characters"));
            Assert.That(many, Is.Null);
            Assert.That(manyErrors.ToDictionary()["schedules"], Has.Some.Contains("at most 2 schedules"));
        });
    }

    private const string ScheduleKeys = "SELECT last_value FROM scheduler.schedules_id_seq";

    [Test]
    public async Task The_warm_up_walks_the_create_path_to_the_insert_and_writes_nothing()
    {
        await using var app = RegistrationsOnly();
        var warmup = ActivatorUtilities.CreateInstance<ApiWarmup>(app.Services);
        // Creates one schedule for real first, so the identity sequence has a value to compare with.
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var (first, _) = await scope.ServiceProvider.GetRequiredService<ScheduleService>().CreateAsync(
                Immediate(Target("https://example.com/hook")), ScheduleOrigin.Api, Caller, CancellationToken.None);
            Assert.That(first, Is.Not.Null);
        }
        var keysBefore = await TestDatabase.ScalarAsync<long>(ScheduleKeys);

        await warmup.StartAsync(CancellationToken.None);

        Assert.Multiple(async () =>
        {
            // Each pass drew a key, so each reached the insert; each was rolled back.
            Assert.That(await TestDatabase.ScalarAsync<long>(ScheduleKeys) - keysBefore, Is.EqualTo(ApiWarmup.Passes), "keys drawn by the rehearsed inserts");
            Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.schedules"), Is.EqualTo(1), "only the real schedule");
            Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.runs"), Is.EqualTo(1), "only the real schedule's run");
            Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.targets"), Is.EqualTo(1), "only the real schedule's inline target");
        });
    }

    [Test]
    public async Task Without_a_database_the_warm_up_gives_up_and_the_api_starts()
    {
        var closedPort = FreePorts.One();
        await using var app = RegistrationsOnly(("ConnectionStrings:Scheduler", $"Host=127.0.0.1;Port={closedPort};Username=nobody;Database=none"));
        var warmup = ActivatorUtilities.CreateInstance<ApiWarmup>(app.Services);

        Assert.That(async () => await warmup.StartAsync(CancellationToken.None), Throws.Nothing);
    }
}
