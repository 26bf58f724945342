namespace Scheduler.Tests.EndToEnd;

/// <summary>Limits:MaxActiveSchedulesPerKey: each API key may have so many schedules that can still run, then 409.</summary>
public sealed class QuotaTests : SystemTestBase
{
    private const string QuotaKey = "test-quota-key-5e2a9c71d0";

    protected override bool StartsWorker => false;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Limits__MaxActiveSchedulesPerKey"] = "3",
        // A key of its own: the fixture's warm-up schedule (made with the admin key) is not in its count.
        ["Auth__ApiKeys__2__Name"] = "tests-quota",
        ["Auth__ApiKeys__2__Key"] = QuotaKey,
        ["Auth__ApiKeys__2__Role"] = "admin",
    };

    private const string Once = """{"schedule_type": "ONCE", "run_at": "+1d", "target": {"url": "https://example.com/quota"}}""";

    [Test]
    public async Task A_key_above_its_active_schedules_limit_gets_a_409_through_the_api_and_the_adapters()
    {
        var client = CreateClient(Api.BaseAddress!, QuotaKey);
        var first = await client.CreateScheduleAsync(Once);
        Assert.That((await client.PauseSchedule(first).ReadAsync()).Status, Is.EqualTo(HttpStatusCode.OK), "a paused schedule still counts");
        await client.CreateScheduleAsync(Once);

        // One room left: a bulk of two is refused whole.
        var before = await TestDatabase.CountsAsync();
        var (bulk, bulkProblem) = await client.CreateSchedules(Json($$"""{"schedules": [{{Once}}, {{Once}}]}""")).ReadAsync();
        Assert.That(bulk, Is.EqualTo(HttpStatusCode.Conflict), bulkProblem?.ToJsonString());
        Assert.That(bulkProblem!["detail"]!.GetValue<string>(), Does.Contain("tests-quota").And.Contain("Limits:MaxActiveSchedulesPerKey"));
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo(before), "nothing written");

        await client.CreateScheduleAsync(Once);
        var (status, problem) = await client.CreateSchedule(Json(Once)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict), problem?.ToJsonString());
        Assert.That(problem!["max_active_schedules"]!.GetValue<int>(), Is.EqualTo(3));
        using var http = CreateHttpClient(Api.BaseAddress!, QuotaKey);
        var (rpc, _, _) = await CompatClient.SendAsync(http, HttpMethod.Post, "/celery/tasks", """{"data": "over"}""");
        Assert.That(rpc, Is.EqualTo(HttpStatusCode.Conflict), "the adapters count too");

        // Another key has its own room; a deleted schedule gives its room back at once.
        await Client.CreateScheduleAsync(Once);
        Assert.That((await client.DeleteSchedule(first).ReadAsync()).Status, Is.EqualTo(HttpStatusCode.NoContent));
        await client.CreateScheduleAsync(Once);
        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.schedules WHERE created_by = 'tests-quota' AND deleted_at IS NULL"), Is.EqualTo(3));
    }
}
