namespace Scheduler.Tests.EndToEnd;

/// <summary>POST /runs/redrive: one manual attempt for each dead letter the filters pick, bounded by Limits:MaxRedriveRuns.</summary>
public sealed class RedriveTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Execution__CircuitBreakerEnabled"] = "false",
        ["Limits__MaxRedriveRuns"] = "3",
    };

    [Test]
    public async Task Redrive_retries_the_unsuccessful_runs_the_filters_pick_once_each_up_to_its_limit()
    {
        Target.Respond("/gone", TestTarget.Status(404));
        Target.Respond("/ok", TestTarget.Status(200));
        var failing = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            failing.Add(await CreateAsync("/gone"));
        }
        var succeeding = await CreateAsync("/ok");
        foreach (var id in failing.Append(succeeding))
        {
            await Client.WaitForFinishedRunAsync(id, Seconds(30));
        }
        using var http = CreateHttpClient(Api.BaseAddress!);

        // Bad filters are 400s naming them, and nothing is retried.
        var (status, problem) = await RedriveAsync(http, "?status_filter=SUCCESS&error_type=http_999");
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(problem!["errors"]!.AsObject().Select(e => e.Key), Is.EquivalentTo(new[] { "status_filter", "error_type" }));
        using (var reader = CreateHttpClient(Api.BaseAddress!, TestKeys.ReadOnly))
        {
            Assert.That((await RedriveAsync(reader, "")).Status, Is.EqualTo(HttpStatusCode.Forbidden), "admin only");
        }

        Target.Respond("/gone", TestTarget.Status(200));
        var (one, byScheduleBody) = await RedriveAsync(http, $"?schedule_id={failing[0]}&status_filter=FAILED");
        Assert.That((one, byScheduleBody!["queued"]!.GetValue<int>(), byScheduleBody["limit_reached"]!.GetValue<bool>()), Is.EqualTo((HttpStatusCode.OK, 1, false)));
        var (_, rest) = await RedriveAsync(http, "?error_type=http_4xx");
        Assert.That((rest!["queued"]!.GetValue<int>(), rest["limit_reached"]!.GetValue<bool>()), Is.EqualTo((3, true)), "the other three, at the limit of 3");

        foreach (var id in failing)
        {
            var run = await Eventually.ValueAsync(async () =>
            {
                var detail = (await Client.RunsOfAsync(id)).Single();
                return detail.Status() == "SUCCESS" ? detail : null;
            }, Seconds(30), $"schedule {id}'s run to succeed");
            Assert.That(run["attempt_count"]!.GetValue<int>(), Is.EqualTo(2));
        }
        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.attempts WHERE manual"), Is.EqualTo(4));
        Assert.That((await Client.RunsOfAsync(succeeding)).Single()["attempt_count"]!.GetValue<int>(), Is.EqualTo(1), "a successful run is no dead letter");
        var (_, none) = await RedriveAsync(http, "");
        Assert.That((none!["queued"]!.GetValue<int>(), none["limit_reached"]!.GetValue<bool>()), Is.EqualTo((0, false)), "nothing left to redrive");
    }

    private async Task<long> CreateAsync(string path) =>
        await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url(path)}}}"}}""");

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> RedriveAsync(HttpClient http, string query)
    {
        using var response = await http.PostAsync(new Uri("/runs/redrive" + query, UriKind.Relative), null);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }
}
