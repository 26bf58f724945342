using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;
using TypedApi = Scheduler.Client.ISchedulerApi;

namespace Scheduler.Tests.Client;

/// <summary>
/// The typed client (Scheduler.Client) against the real system: seed 001's walkthrough through it, its
/// paging, its problem details and its signature check on a real signed call. .ci/run runs these again
/// against the packed .nupkg (-p:SchedulerClientPackageVersion), as a package consumer sees it.
/// </summary>
public sealed class TypedClientTests : SystemTestBase
{
    private ServiceProvider _services = null!;

    private TypedApi Typed => _services.GetRequiredService<TypedApi>();

    [OneTimeSetUp]
    public void CreateTypedClient()
    {
        var services = new ServiceCollection();
        services.AddSchedulerClient(o =>
        {
            o.BaseAddress = Api.BaseAddress;
            o.ApiKey = TestKeys.Admin;
        });
        _services = services.BuildServiceProvider();
    }

    [OneTimeTearDown]
    public async Task DisposeTypedClientAsync() => await _services.DisposeAsync();

    [Test]
    public async Task The_seed_001_walkthrough_works_through_the_typed_client()
    {
        // 1. Create a Target
        var target = await Typed.CreateTargetAsync(new TargetRequest
        {
            Name = "httpbin-test",
            Url = Target.Url("/get"),
            Method = "GET",
            Headers = new Dictionary<string, string> { ["User-Agent"] = "API-Scheduler/1.0" },
        });
        Assert.That((target.Name, target.Method, target.TimeoutSeconds), Is.EqualTo(("httpbin-test", "GET", 30)));
        Assert.That(target.Headers["User-Agent"], Is.EqualTo("API-Scheduler/1.0"));

        // 2. Create a Schedule: interval and window
        var interval = await Typed.CreateScheduleAsync(new ScheduleRequest
        {
            Name = "every-30-seconds", TargetId = target.Id, ScheduleType = ScheduleType.Interval, IntervalSeconds = 30,
        });
        Assert.That((interval.ScheduleType, interval.Status, interval.OverlapPolicy, interval.CatchUpPolicy),
            Is.EqualTo((ScheduleType.Interval, ScheduleStatus.Active, OverlapPolicy.Skip, CatchUpPolicy.One)));
        var window = await Typed.CreateScheduleAsync(new ScheduleRequest
        {
            Name = "5-minute-test", TargetId = target.Id, ScheduleType = ScheduleType.Window, IntervalSeconds = 10, DurationSeconds = 300,
        });
        Assert.That(window.DurationSeconds, Is.EqualTo(300));

        // 3. Pause/Resume Schedule; pausing twice is a problem
        Assert.That((await Typed.PauseScheduleAsync(interval.Id)).Status, Is.EqualTo(ScheduleStatus.Paused));
        var twice = Assert.ThrowsAsync<SchedulerApiException>(() => Typed.PauseScheduleAsync(interval.Id));
        Assert.That(twice!.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await Typed.ResumeScheduleAsync(interval.Id)).Status, Is.EqualTo(ScheduleStatus.Active));

        // 4. View Runs, filtered by schedule and by status (an enum on the query string)
        await Eventually.UntilAsync(async () => (await Typed.ListRunsAsync(new RunFilter { ScheduleId = interval.Id }))
            .Any(r => r.Status == RunStatus.Success), Seconds(30), "the interval schedule's first run");
        var successes = await Typed.ListRunsAsync(new RunFilter { Status = RunStatus.Success });
        Assert.That(successes, Is.Not.Empty);
        Assert.That(successes.Select(r => r.Status), Is.All.EqualTo(RunStatus.Success));
        var runId = (await Typed.ListRunsAsync(new RunFilter { ScheduleId = interval.Id }))[0].Id;
        var run = await Typed.GetRunAsync(runId);
        Assert.That(run.Attempts, Is.Not.Null.And.Not.Empty);
        Assert.That((run.Attempts![0].Status, run.StatusCode, run.ErrorType), Is.EqualTo((AttemptStatus.Success, (int?)200, (ErrorType?)null)));
        Assert.That(run.LatenessMs, Is.Not.Null);

        // 5. View Metrics and health
        var metrics = await Typed.GetMetricsAsync();
        Assert.That((metrics.TotalTargets, metrics.TotalSchedules, metrics.ActiveSchedules), Is.EqualTo((1, 2, 2)));
        var perSchedule = (await Typed.GetScheduleMetricsAsync()).Single(m => m.ScheduleId == interval.Id);
        Assert.That(perSchedule.ScheduleName, Is.EqualTo("every-30-seconds"));
        Assert.That((await Typed.GetHealthAsync()).SchedulerRunning, Is.True);

        // The rest: list (one page and all pages), update, delete, 404 and 409 as typed problems.
        Assert.That(await Typed.ListTargetsAsync(), Has.Count.EqualTo(1));
        var renamed = await Typed.UpdateTargetAsync(target.Id, new TargetRequest { TimeoutSeconds = 12 });
        Assert.That((renamed.TimeoutSeconds, renamed.Name), Is.EqualTo((12, "httpbin-test")));
        Assert.That((await Typed.UpdateScheduleAsync(interval.Id, new ScheduleRequest { IntervalSeconds = 60 })).IntervalSeconds, Is.EqualTo(60));
        var all = await ToListAsync(Typed.ListAllSchedulesAsync(pageSize: 1));
        Assert.That(all.Select(s => s.Id), Is.EqualTo(new[] { interval.Id, window.Id }), "two pages of one, in id order");
        var inUse = Assert.ThrowsAsync<SchedulerApiException>(() => Typed.DeleteTargetAsync(target.Id));
        Assert.That((inUse!.StatusCode, inUse.Detail), Is.EqualTo((HttpStatusCode.Conflict, inUse.Detail)));
        Assert.That(inUse.Detail, Does.Contain("used by schedule"));
        await Typed.DeleteScheduleAsync(interval.Id);
        await Typed.DeleteScheduleAsync(window.Id);
        var gone = Assert.ThrowsAsync<SchedulerApiException>(() => Typed.GetScheduleAsync(interval.Id));
        Assert.That((gone!.StatusCode, gone.Detail), Is.EqualTo((HttpStatusCode.NotFound, $"Schedule {interval.Id} not found")));
        await Typed.DeleteTargetAsync(target.Id);
        Assert.That((await ToListAsync(Typed.ListAllRunsAsync(new RunFilter { ScheduleId = interval.Id, Limit = 1 }))).Count, Is.GreaterThanOrEqualTo(1),
            "the history of a deleted schedule stays readable");
    }

    [Test]
    public async Task A_continuation_is_written_and_read_and_its_run_names_its_parent_through_the_typed_client()
    {
        var later = new ScheduleRequest { ScheduleType = ScheduleType.Once, RunAt = "+2d", Target = new TargetRequest { Url = Target.Url("/next") } };
        var next = await Typed.CreateScheduleAsync(later);
        var first = await Typed.CreateScheduleAsync(later with
        {
            Target = new TargetRequest { Url = Target.Url("/first") },
            Continuations = [new Continuation(ContinuationWhen.Success, next.Id)],
        });
        Assert.That(first.Continuations, Is.EqualTo(new[] { new Continuation(ContinuationWhen.Success, next.Id) }));
        Assert.That((await Typed.GetScheduleAsync(first.Id)).Continuations.Single().When, Is.EqualTo(ContinuationWhen.Success));

        var parent = await Typed.TriggerScheduleAsync(first.Id);
        var child = await Eventually.ValueAsync(async () => (await Typed.ListRunsAsync(new RunFilter { ScheduleId = next.Id })).FirstOrDefault(),
            Seconds(30), "the continuation run");
        Assert.That((child.Trigger, child.ParentRunId), Is.EqualTo((RunTrigger.Continuation, (long?)parent.Id)));
        Assert.That((await Typed.UpdateScheduleAsync(first.Id, new ScheduleRequest { Continuations = [] })).Continuations, Is.Empty);
    }

    [Test]
    public async Task A_validation_problem_carries_its_field_errors()
    {
        var problem = Assert.ThrowsAsync<SchedulerApiException>(() => Typed.CreateScheduleAsync(new ScheduleRequest
        {
            ScheduleType = ScheduleType.Interval, IntervalSeconds = 0, Target = new TargetRequest { Url = Target.Url("/x") },
        }));
        Assert.That(problem!.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem.Errors.Keys, Does.Contain("interval_seconds"), problem.Body);
        Assert.That(problem.Message, Does.Contain("interval_seconds"));
        Assert.That(await Typed.ListSchedulesAsync(), Is.Empty, "nothing was saved");
    }

    [Test]
    public async Task A_real_signed_call_verifies_with_SchedulerSignature()
    {
        const string secret = "a-target-secret-0123456789";
        var schedule = await Typed.CreateScheduleAsync(new ScheduleRequest
        {
            ScheduleType = ScheduleType.Immediate,
            Target = new TargetRequest { Url = Target.Url("/signed"), Method = "POST", Body = "{\"run\": {{run_id}}}", SigningSecret = secret },
        });
        var request = (await Target.WaitForAsync("/signed", 1, Seconds(30))).Single();
        var header = request.Header(SchedulerSignature.HeaderName);
        Assert.That(SchedulerSignature.Verify(header, request.Body, secret), Is.True, header);
        Assert.That(SchedulerSignature.Verify(header, Encoding.UTF8.GetBytes(request.Body), secret), Is.True);
        Assert.That(SchedulerSignature.Verify(header, request.Body + " ", secret), Is.False, "a changed body");
        Assert.That(SchedulerSignature.Verify(header, request.Body, secret + "x"), Is.False, "another secret");
        var later = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(request.ArrivedAt + TimeSpan.FromMinutes(10));
        Assert.That(SchedulerSignature.Verify(header, request.Body, secret, time: later), Is.False, "a replay ten minutes later");
        Assert.That(schedule.Target?.SigningSecret, Is.EqualTo("***"));
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }
        return list;
    }
}
