using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;
using TypedApi = Scheduler.Client.ISchedulerApi;

namespace Scheduler.Tests.Client;

/// <summary>
/// The retries AddSchedulerClient sets up, against a local stand-in for the API: a refused request (429/503)
/// is retried after its Retry-After whatever its method; a failed POST is not made twice; a failed GET is retried.
/// </summary>
public sealed class ResilienceTests
{
    private TestTarget _api = null!;
    private ServiceProvider _services = null!;

    private TypedApi Typed => _services.GetRequiredService<TypedApi>();

    [SetUp]
    public async Task StartAsync()
    {
        _api = await TestTarget.StartAsync();
        var services = new ServiceCollection();
        services.AddSchedulerClient(o =>
        {
            o.BaseAddress = _api.BaseAddress;
            o.ApiKey = "a-key-for-the-stand-in";
        });
        _services = services.BuildServiceProvider();
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _services.DisposeAsync();
        await _api.DisposeAsync();
    }

    [Test]
    public async Task A_refused_post_is_retried_after_its_Retry_After()
    {
        // Six seconds: longer than the resilience handler's own first delay (about two), so only honouring the header waits this long.
        _api.Respond("/schedules", TestTarget.Sequence(
            TestTarget.StatusWithHeader(429, "Retry-After", "6"),
            TestTarget.Status(201, """{"id": 7, "schedule_type": "IMMEDIATE", "status": "ACTIVE", "overlap_policy": "SKIP", "catch_up_policy": "ONE"}""")));

        var schedule = await Typed.CreateScheduleAsync(new ScheduleRequest { ScheduleType = ScheduleType.Immediate });

        Assert.That(schedule.Id, Is.EqualTo(7));
        var requests = _api.ReceivedOn("/schedules");
        Assert.That(requests, Has.Count.EqualTo(2));
        Assert.That(requests[1].ArrivedAt - requests[0].ArrivedAt, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(5.9)));
        Assert.That(requests[0].Header("X-Api-Key"), Is.EqualTo("a-key-for-the-stand-in"));
    }

    [Test]
    public void A_post_that_failed_is_not_made_again()
    {
        _api.Respond("/schedules", TestTarget.Status(500, """{"title": "An unexpected error occurred.", "status": 500}"""));

        var problem = Assert.ThrowsAsync<SchedulerApiException>(() => Typed.CreateScheduleAsync(new ScheduleRequest { ScheduleType = ScheduleType.Immediate }));

        Assert.That((problem!.StatusCode, problem.Title), Is.EqualTo((HttpStatusCode.InternalServerError, "An unexpected error occurred.")));
        Assert.That(_api.ReceivedOn("/schedules"), Has.Count.EqualTo(1), "a POST may have been carried out: never repeated");
    }

    [Test]
    public async Task A_get_that_failed_is_retried()
    {
        _api.Respond("/jobs", TestTarget.Sequence(TestTarget.Status(502), TestTarget.Status(200, "[]")));

        Assert.That(await Typed.ListJobsAsync(), Is.Empty);
        Assert.That(_api.ReceivedOn("/jobs"), Has.Count.EqualTo(2));
    }
}
