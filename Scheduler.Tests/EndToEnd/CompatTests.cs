using System.Text;

namespace Scheduler.Tests.EndToEnd;

/// <summary>A client of a seed's contract: raw JSON in, status and raw JSON out.</summary>
internal static class CompatClient
{
    public static async Task<(HttpStatusCode Status, string Text, JsonNode? Json)> SendAsync(HttpClient http, HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? node = null;
        try
        {
            node = text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            // Not JSON: the caller asserts on the text.
        }
        return (response.StatusCode, text, node);
    }
}

/// <summary>Seed 002, callme: its README's requests, its states and its validation rules, unchanged.</summary>
public sealed class CallmeTests : SystemTestBase
{
    private HttpClient Http => _http ??= CreateHttpClient(Api.BaseAddress!);
    private HttpClient? _http;

    [OneTimeTearDown]
    public void DisposeClient() => _http?.Dispose();

    private Task<(HttpStatusCode Status, string Text, JsonNode? Json)> Put(string path, string json) => CompatClient.SendAsync(Http, HttpMethod.Put, path, json);

    private Task<(HttpStatusCode Status, string Text, JsonNode? Json)> Get(string path) => CompatClient.SendAsync(Http, HttpMethod.Get, path);

    [Test]
    public async Task The_readme_examples_work_as_written()
    {
        // curl -XPUT --data '{"trigger_at":"+6h", "callback":"http://example.com/that-thing/run-it"}' callme:6777/task/simpletask
        var (status, _, created) = await Put("/callme/task/simpletask", """{"trigger_at":"+6h", "callback":"http://example.com/that-thing/run-it"}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(created!["message"]!.GetValue<string>(), Does.Match(@"^task simpletask@\d+ scheduled$"));

        // curl -XGET callme:6777/task/simpletask?pretty
        var (getStatus, text, simple) = await Get("/callme/task/simpletask?pretty");
        Assert.That(getStatus, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(text, Does.Contain("\n  "), "pretty: indented");
        var entry = simple!.AsObject().Single().Value!;
        var sixHours = DateTimeOffset.UtcNow.AddHours(6).ToUnixTimeSeconds();
        Assert.Multiple(() =>
        {
            Assert.That(entry["task_name"]!.GetValue<string>(), Is.EqualTo("simpletask"));
            Assert.That(entry["trigger_at"]!.GetValue<long>() % 60, Is.Zero, "a minute boundary");
            Assert.That(entry["trigger_at"]!.GetValue<long>(), Is.InRange(sixHours - 60, sixHours + 120));
            Assert.That(entry["callback"]!.GetValue<string>(), Is.EqualTo("http://example.com/that-thing/run-it"));
            Assert.That(entry["callback_method"]!.GetValue<string>(), Is.EqualTo("GET"));
            Assert.That(entry["payload"]!.GetValue<string>(), Is.Empty);
            Assert.That(entry["expected_http_status"]!.GetValue<int>(), Is.EqualTo(200));
            Assert.That(entry["retry"]!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(entry["max_delay"]!.GetValue<int>(), Is.EqualTo(10));
            Assert.That(entry["state"]!.GetValue<string>(), Is.EqualTo("pending"));
        });

        // Two entries of one name, for midnight and 01:00 on 2028-11-26, expecting 204.
        foreach (var at in new[] { "1858809600", "1858816800" })
        {
            (status, _, created) = await Put("/callme/task/faraway", $$"""{"trigger_at":"{{at}}", "callback":"http://example.com/far-far-away", "expected_http_status":204}""");
            Assert.That(status, Is.EqualTo(HttpStatusCode.Created), created?.ToJsonString());
            Assert.That(created!["message"]!.GetValue<string>(), Is.EqualTo($"task faraway@{at} scheduled"));
        }
        var (_, _, both) = await Get("/callme/task/faraway?pretty");
        Assert.That(both!.AsObject().Select(p => p.Key), Is.EqualTo(new[] { "faraway@1858809600", "faraway@1858816800" }));
        var (oneStatus, _, midnight) = await Get("/callme/task/faraway@1858809600?pretty");
        Assert.That(oneStatus, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(midnight!["trigger_at"]!.GetValue<long>(), Is.EqualTo(1858809600));
        Assert.That(midnight["expected_http_status"]!.GetValue<int>(), Is.EqualTo(204));
        var (_, _, all) = await Get("/callme/task/?pretty");
        Assert.That(all!.AsObject(), Has.Count.EqualTo(3));
        var (_, _, statusAll) = await Get("/callme/status/");
        Assert.That(statusAll!.AsObject(), Has.Count.EqualTo(3));
        var (missing, _, error) = await Get("/callme/status/nothing@1858809600");
        Assert.That(missing, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(error!["error"]!.GetValue<string>(), Does.Contain("nothing@1858809600"));

        // The same task through the main API: a ONCE schedule for 2028-11-26T00:00Z.
        var (_, schedule) = await Client.GetSchedule(midnight["schedule_id"]!.GetValue<long>()).ReadAsync();
        Assert.Multiple(() =>
        {
            Assert.That(schedule!["source"]!.GetValue<string>(), Is.EqualTo("callme"));
            Assert.That(schedule["external_key"]!.GetValue<string>(), Is.EqualTo("faraway@1858809600"));
            Assert.That(schedule["schedule_type"]!.GetValue<string>(), Is.EqualTo("ONCE"));
            Assert.That(schedule.Time("run_at"), Is.EqualTo(DateTimeOffset.FromUnixTimeSeconds(1858809600)));
            Assert.That(schedule["expected_http_status"]!.AsArray().Select(s => s!.GetValue<int>()), Is.EqualTo(new[] { 204 }));
        });
    }

    [TestCase("")]
    [TestCase("+")]
    [TestCase("+m")]
    [TestCase("+6")]
    [TestCase("6h")]
    [TestCase("+6z")]
    [TestCase("1500000000")]
    [TestCase("2174245621")]
    public async Task An_invalid_trigger_at_is_rejected_with_callmes_error_shape(string triggerAt)
    {
        var (status, _, body) = await Put("/callme/task/invalid", $$"""{"trigger_at":"{{triggerAt}}", "callback":"http://example.com/x"}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body!.AsObject().Select(p => p.Key), Is.EqualTo(new[] { "error" }));
        Assert.That(body["error"]!.GetValue<string>(), Does.Contain("trigger_at"));
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo("targets=0 schedules=0 runs=0 attempts=0"));
    }

    [TestCase("2174245620")]
    [TestCase("+10m")]
    public async Task A_valid_trigger_at_is_accepted(string triggerAt)
    {
        var (status, _, body) = await Put("/callme/task/valid", $$"""{"trigger_at":"{{triggerAt}}", "callback":"http://example.com/x"}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), body?.ToJsonString());
        Assert.That(body!["message"]!.GetValue<string>(), Does.StartWith("task valid@"));
    }

    [Test]
    public async Task A_failed_task_shows_failed_is_visible_in_the_main_api_and_the_dashboard_and_reschedules()
    {
        Target.Respond("/flaky", TestTarget.Status(500));
        var (status, _, created) = await Put("/callme/task/job", $$$"""{"trigger_at":"+1m", "callback":"{{{Target.Url("/flaky")}}}", "callback_method":"POST", "payload":"{\"a\":1}", "retry":0}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created));
        var key = created!["message"]!.GetValue<string>().Split(' ')[1];
        var (_, _, entry) = await Get($"/callme/status/{key}");
        var scheduleId = entry!["schedule_id"]!.GetValue<long>();

        // As if its minute had come (rather than wait up to two minutes for it): the dispatcher runs it.
        await TestDatabase.ExecuteAsync($"UPDATE scheduler.schedules SET run_at = now(), next_run_at = now() WHERE id = {scheduleId}; NOTIFY scheduler_dispatch;");
        var run = await Client.WaitForFinishedRunAsync(scheduleId, TimeSpan.FromSeconds(30));
        Assert.That(run.Status(), Is.EqualTo("FAILED"));
        Assert.That(Target.ReceivedOn("/flaky").Single().Body, Is.EqualTo("{\"a\":1}"));
        (_, _, entry) = await Get($"/callme/status/{key}");
        Assert.That(entry!["state"]!.GetValue<string>(), Is.EqualTo("failed"));
        Assert.That(entry["last_status_code"]!.GetValue<int>(), Is.EqualTo(500));
        Assert.That((await Client.RunsOfAsync(scheduleId)).Single()["id"]!.GetValue<long>(), Is.EqualTo(run["id"]!.GetValue<long>()), "/runs lists it");
        using (var dashboard = CreateHttpClient(Api.BaseAddress!))
        {
            // Among Hangfire's failed jobs: its job's state follows the run (issue #19).
            await Eventually.UntilAsync(async () => (await dashboard.GetStringAsync(new Uri("/hangfire/jobs/failed", UriKind.Relative))).Contains($"schedule #{scheduleId}", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "the dashboard to list it among the failed jobs");
        }

        // A pending entry is not rescheduled unless all=true; a failed one is, by default to the next minute. Not in a
        // minute's last seconds: the next minute would come (and the entry run and fail again) before it is read back.
        await Eventually.UntilAsync(() => TimeProvider.System.GetUtcNow().Second < 50, TimeSpan.FromSeconds(15), "a minute with ten seconds to spare");
        var (rescheduled, _, message) = await CompatClient.SendAsync(Http, HttpMethod.Post, "/callme/reschedule/job");
        Assert.That(rescheduled, Is.EqualTo(HttpStatusCode.OK), message?.ToJsonString());
        Assert.That(message!["message"]!.GetValue<string>(), Does.StartWith("rescheduled 1 task(s) of job to "));
        var (_, _, entries) = await Get("/callme/status/job");
        var (newKey, newEntry) = entries!.AsObject().Single();
        Assert.That(newEntry!["state"]!.GetValue<string>(), Is.EqualTo("pending"));
        Assert.That(newEntry["trigger_at"]!.GetValue<long>(), Is.GreaterThan(DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
        var (conflict, _, error) = await CompatClient.SendAsync(Http, HttpMethod.Post, $"/callme/reschedule/{newKey}", """{"trigger_at":"+2h"}""");
        Assert.That(conflict, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(error!["error"]!.GetValue<string>(), Does.Contain("all=true"));
        var (allStatus, _, _) = await CompatClient.SendAsync(Http, HttpMethod.Post, $"/callme/reschedule/{newKey}?all=true", """{"trigger_at":"+2h"}""");
        Assert.That(allStatus, Is.EqualTo(HttpStatusCode.OK));
    }

    /// <summary>Makes an entry's minute come now (rather than wait up to two minutes), and waits for its run.</summary>
    private async Task<JsonNode> RunNowAsync(long scheduleId, string delay = "0 seconds")
    {
        await TestDatabase.ExecuteAsync($"UPDATE scheduler.schedules SET run_at = now() + interval '{delay}', next_run_at = now() + interval '{delay}' WHERE id = {scheduleId}; NOTIFY scheduler_dispatch;");
        return await Client.WaitForFinishedRunAsync(scheduleId, TimeSpan.FromSeconds(30));
    }

    [Test]
    public async Task Failed_entries_rescheduled_together_each_keep_an_entry_of_their_own()
    {
        Target.Respond("/down", TestTarget.Status(500));
        var ids = new List<long>();
        foreach (var at in new[] { "+1m", "+2m" })
        {
            var (status, _, created) = await Put("/callme/task/pair", $$$"""{"trigger_at":"{{{at}}}", "callback":"{{{Target.Url("/down")}}}", "retry":0}""");
            Assert.That(status, Is.EqualTo(HttpStatusCode.Created), created?.ToJsonString());
            var (_, _, entry) = await Get($"/callme/status/{created!["message"]!.GetValue<string>().Split(' ')[1]}");
            ids.Add(entry!["schedule_id"]!.GetValue<long>());
        }
        foreach (var id in ids)
        {
            Assert.That((await RunNowAsync(id)).Status(), Is.EqualTo("FAILED"));
        }

        var (rescheduled, _, message) = await CompatClient.SendAsync(Http, HttpMethod.Post, "/callme/reschedule/pair", """{"trigger_at":"2174245620"}""");
        Assert.That(rescheduled, Is.EqualTo(HttpStatusCode.OK), message?.ToJsonString());
        Assert.That(message!["message"]!.GetValue<string>(), Is.EqualTo("rescheduled 2 task(s) of pair to 2174245620: pair@2174245620, pair@2174245680"));
        var (_, _, entries) = await Get("/callme/status/pair");
        Assert.That(entries!.AsObject().Select(p => (p.Key, p.Value!["trigger_at"]!.GetValue<long>(), p.Value["state"]!.GetValue<string>())),
            Is.EqualTo(new[] { ("pair@2174245620", 2174245620L, "pending"), ("pair@2174245680", 2174245680L, "pending") }), "both survive, each at its own minute");
        Assert.That(entries.AsObject().Select(p => p.Value!["schedule_id"]!.GetValue<long>()).Order(), Is.EqualTo(ids.Order()));

        // A minute another entry holds is passed over for the next free one.
        (rescheduled, _, message) = await CompatClient.SendAsync(Http, HttpMethod.Post, "/callme/reschedule/pair@2174245620?all=true", """{"trigger_at":"2174245680"}""");
        Assert.That(rescheduled, Is.EqualTo(HttpStatusCode.OK), message?.ToJsonString());
        Assert.That(message!["message"]!.GetValue<string>(), Does.EndWith(": pair@2174245740"));
    }

    [Test]
    public async Task Concurrent_puts_of_one_entry_make_one_entry()
    {
        const string Body = """{"trigger_at":"2174245620", "callback":"http://example.com/race"}""";
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Put("/callme/task/race", Body)));
        Assert.That(answers.Select(a => a.Status), Has.All.AnyOf(HttpStatusCode.Created, HttpStatusCode.OK), string.Join("; ", answers.Select(a => a.Text)));
        Assert.That(answers.Count(a => a.Status == HttpStatusCode.Created), Is.EqualTo(1), "one PUT creates the entry, the others update it");
        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.schedules WHERE source = 'callme' AND external_key = 'race@2174245620'"), Is.EqualTo(1));
    }

    [Test]
    public async Task Max_delay_skips_a_call_that_would_start_max_delay_or_more_after_trigger_at()
    {
        // max_delay 0: "do not make a request if only starting it max_delay or more minutes after trigger_at" — even on time.
        var (status, _, created) = await Put("/callme/task/never", $$$"""{"trigger_at":"+1m", "callback":"{{{Target.Url("/never")}}}", "max_delay":0}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), created?.ToJsonString());
        var (_, _, entry) = await Get($"/callme/status/{created!["message"]!.GetValue<string>().Split(' ')[1]}");
        // Due a few seconds ahead, so the worker has its job before the time, as for any entry dispatched on time.
        var run = await RunNowAsync(entry!["schedule_id"]!.GetValue<long>(), "3 seconds");
        Assert.That(run.Status(), Is.EqualTo("SKIPPED"), run.ToJsonString());
        Assert.That(run["remarks"]![0]!.GetValue<string>(), Does.Contain("max_delay_seconds (0) or more"));
        Assert.That(Target.ReceivedOn("/never"), Is.Empty);
    }

    [Test]
    public async Task The_unique_key_migration_keeps_every_duplicate_entry_under_a_key_of_its_own()
    {
        foreach (var at in new[] { 2174245620L, 2174245680L, 2174245740L })
        {
            var (status, _, _) = await Put("/callme/task/dup", $$"""{"trigger_at":"{{at}}", "callback":"http://example.com/dup"}""");
            Assert.That(status, Is.EqualTo(HttpStatusCode.Created));
        }
        // A database from before the index, where a reschedule had put three entries on one key.
        await TestDatabase.ExecuteAsync("""
            DROP INDEX scheduler.ix_schedules_source_external_key;
            CREATE INDEX ix_schedules_source_external_key ON scheduler.schedules (source, external_key);
            DELETE FROM scheduler.__ef_migrations_history WHERE migration_id LIKE '%_CompatUniqueExternalKey';
            UPDATE scheduler.schedules SET external_key = 'dup@2174245620', run_at = to_timestamp(2174245620) WHERE source = 'callme';
            """);
        var ids = (await Get("/callme/status/dup")).Json!.AsObject().Select(p => p.Value!["schedule_id"]!.GetValue<long>()).ToList();

        await using (var migrate = SchedulerProcess.StartRaw("api", ["migrate"], new Dictionary<string, string>()))
        {
            Assert.That(await migrate.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Zero, migrate.Output);
        }
        var (_, _, entries) = await Get("/callme/status/dup");
        var first = (await TestDatabase.ScalarAsync<long>("SELECT min(id) FROM scheduler.schedules WHERE source = 'callme'"));
        var keys = await TestDatabase.ScalarAsync<string>("SELECT string_agg(external_key, ' ' ORDER BY id) FROM scheduler.schedules WHERE source = 'callme'");
        Assert.That(keys, Is.EqualTo($"dup@2174245620 dup@2174245620#{first + 1} dup@2174245620#{first + 2}"), "the oldest keeps the key");
        Assert.That(entries!.AsObject().Select(p => p.Value!["trigger_at"]!.GetValue<long>()), Is.EqualTo(new[] { 2174245620L, 2174245620L, 2174245620L }));
        Assert.That(ids, Has.Count.EqualTo(1), "before: one key, one entry shown");
        Assert.ThrowsAsync<Npgsql.PostgresException>(() => TestDatabase.ExecuteAsync("UPDATE scheduler.schedules SET external_key = 'dup@2174245620' WHERE source = 'callme'"),
            "the index is unique again");
    }

    [Test]
    public async Task Status_pages_by_start_from_and_filters_future_only()
    {
        for (var i = 0; i < 101; i++)
        {
            var (status, _, _) = await Put("/callme/task/many", $$"""{"trigger_at":"{{2174245620 + (i * 60)}}", "callback":"http://example.com/x"}""");
            Assert.That(status, Is.EqualTo(HttpStatusCode.Created));
        }
        var (_, _, first) = await Get("/callme/status/many?future_only");
        Assert.That(first!.AsObject().Count(p => p.Key != "next"), Is.EqualTo(100));
        var next = first["next"]!.GetValue<string>();
        Assert.That(next, Is.EqualTo($"many@{2174245620 + (100 * 60)}"));
        var (_, _, second) = await Get($"/callme/status/many?start_from={next}");
        Assert.That(second!.AsObject().Select(p => p.Key), Is.EqualTo(new[] { next }));
    }
}

/// <summary>Seed 003's tasks RPC: its README's payloads and its envelope.</summary>
public sealed class TasksRpcTests : SystemTestBase
{
    private HttpClient Http => _http ??= CreateHttpClient(Api.BaseAddress!);
    private HttpClient? _http;

    [OneTimeTearDown]
    public void DisposeClient() => _http?.Dispose();

    private Task<(HttpStatusCode Status, string Text, JsonNode? Json)> Rpc(string method, string json) => CompatClient.SendAsync(Http, HttpMethod.Post, $"/api/{method}", json);

    [Test]
    public async Task Create_info_update_and_delete_as_the_readme_shows()
    {
        // The README's create, as a JSON client sends it: send_email is not a job registered here.
        const string Details = """{"day_of_month":"2,4,5,8", "day_of_week":"1", "month_of_year":"*", "minute":"*", "hour":"*"}""";
        var (status, _, refused) = await Rpc("tasks.create", $$"""{"name":"Policy Change Email To Users", "job_name":"send_email", "recurring_interval":"ONE_OFF", "recurring_details":{{Details}}}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(refused!["success"]!.GetValue<bool>(), Is.False);
        Assert.That(refused["data"], Is.Null);
        Assert.That(refused["error"]!.GetValue<string>(), Does.Contain("send_email"));

        // With a registered job, and the details JSON-stringified as the README asks.
        var stringified = System.Text.Json.JsonSerializer.Serialize(Details);
        var (created, _, envelope) = await Rpc("tasks.create", $$"""{"name":"Policy Change Email To Users", "job_name":"echo", "recurring_interval":"ONE_OFF", "recurring_details":{{stringified}}}""");
        Assert.That(created, Is.EqualTo(HttpStatusCode.OK), envelope?.ToJsonString());
        Assert.That(envelope!.AsObject().Select(p => p.Key), Is.EqualTo(new[] { "data", "error", "success" }));
        Assert.That(envelope["success"]!.GetValue<bool>(), Is.True);
        Assert.That(envelope["error"], Is.Null);
        var task = envelope["data"]!;
        var id = task["id"]!.GetValue<long>();
        Assert.Multiple(() =>
        {
            Assert.That(task["name"]!.GetValue<string>(), Is.EqualTo("Policy Change Email To Users"));
            Assert.That(task["status"]!.GetValue<string>(), Is.EqualTo("CREATED"));
            Assert.That(task["job_name"]!.GetValue<string>(), Is.EqualTo("echo"));
            Assert.That(task["recurring_interval"]!.GetValue<string>(), Is.EqualTo("ONE_OFF"));
            Assert.That(task["recurring_details"]!["day_of_month"]!.GetValue<string>(), Is.EqualTo("2,4,5,8"));
            Assert.That(task["schedule"]!["schedule_type"]!.GetValue<string>(), Is.EqualTo("ONCE"));
            Assert.That(task["created_at"], Is.Not.Null);
        });
        var runAt = task["schedule"]!["run_at"]!.GetValue<DateTimeOffset>();
        Assert.That(runAt.DayOfWeek == DayOfWeek.Monday || new[] { 2, 4, 5, 8 }.Contains(runAt.Day), Is.True, "cron semantics: day of month or day of week");

        var (duplicate, _, taken) = await Rpc("tasks.create", """{"name":"Policy Change Email To Users", "job_name":"echo", "recurring_interval":"EVERY_DAY"}""");
        Assert.That(duplicate, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That(taken!["success"]!.GetValue<bool>(), Is.False);

        var (infoStatus, _, info) = await Rpc("tasks.info", $$"""{"id":{{id}}}""");
        Assert.That(infoStatus, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(info!["data"]!["id"]!.GetValue<long>(), Is.EqualTo(id));

        // The README's update.
        var (updatedStatus, _, updated) = await Rpc("tasks.update", $$$"""
            {"id":{{{id}}}, "job_name":"echo", "recurring_interval":"EVERY_QUARTER",
             "recurring_details":{"month_of_year":"2,4,5,8", "day_of_week":"*", "day_of_month":"1", "minute":"*", "hour":"*"}}
            """);
        Assert.That(updatedStatus, Is.EqualTo(HttpStatusCode.OK), updated?.ToJsonString());
        Assert.Multiple(() =>
        {
            Assert.That(updated!["data"]!["recurring_interval"]!.GetValue<string>(), Is.EqualTo("EVERY_QUARTER"));
            Assert.That(updated["data"]!["recurring_details"]!["month_of_year"]!.GetValue<string>(), Is.EqualTo("2,4,5,8"));
            Assert.That(updated["data"]!["schedule"]!["schedule_type"]!.GetValue<string>(), Is.EqualTo("CRON"));
            Assert.That(updated["data"]!["schedule"]!["cron_expression"]!.GetValue<string>(), Is.EqualTo("0 0 1 2,4,5,8 *"));
        });

        // Visible as a normal schedule; a run now shows in the task's status.
        var (_, schedule) = await Client.GetSchedule(id).ReadAsync();
        Assert.That(schedule!["source"]!.GetValue<string>(), Is.EqualTo("tasks"));
        await Client.TriggerSchedule(id).ReadAsync();
        Assert.That((await Client.WaitForFinishedRunAsync(id, TimeSpan.FromSeconds(30))).Status(), Is.EqualTo("SUCCESS"));
        (_, _, info) = await Rpc("tasks.info", $$"""{"id":{{id}}}""");
        Assert.That(info!["data"]!["status"]!.GetValue<string>(), Is.EqualTo("SUCCEEDED"));

        var (deletedStatus, _, deleted) = await Rpc("tasks.delete", $$"""{"id":{{id}}}""");
        Assert.That(deletedStatus, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(deleted!["data"]!["name"]!.GetValue<string>(), Is.EqualTo("Policy Change Email To Users"));
        var (goneStatus, _, gone) = await Rpc("tasks.info", $$"""{"id":{{id}}}""");
        Assert.That(goneStatus, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(gone!["success"]!.GetValue<bool>(), Is.False);
    }

    [Test]
    public async Task A_name_is_one_live_task_renames_and_concurrent_creates_included()
    {
        var (_, _, a) = await Rpc("tasks.create", """{"name":"a", "job_name":"echo", "recurring_interval":"EVERY_DAY"}""");
        var (_, _, b) = await Rpc("tasks.create", """{"name":"b", "job_name":"echo", "recurring_interval":"EVERY_DAY"}""");
        var idB = b!["data"]!["id"]!.GetValue<long>();
        Assert.That(a!["success"]!.GetValue<bool>(), Is.True);

        var (status, _, refused) = await Rpc("tasks.update", $$"""{"id":{{idB}}, "name":"a"}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.Conflict), refused?.ToJsonString());
        Assert.That(refused!["success"]!.GetValue<bool>(), Is.False);
        Assert.That(refused["error"]!.GetValue<string>(), Is.EqualTo("a task named 'a' already exists"));
        var (_, _, info) = await Rpc("tasks.info", $$"""{"id":{{idB}}}""");
        Assert.That(info!["data"]!["name"]!.GetValue<string>(), Is.EqualTo("b"), "nothing written");

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Rpc("tasks.create", """{"name":"same", "job_name":"echo", "recurring_interval":"EVERY_DAY"}""")));
        Assert.That(answers.Count(r => r.Status == HttpStatusCode.OK), Is.EqualTo(1), string.Join("; ", answers.Select(r => r.Text)));
        Assert.That(answers.Count(r => r.Status == HttpStatusCode.Conflict), Is.EqualTo(7));
        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.schedules WHERE source = 'tasks' AND external_key = 'same'"), Is.EqualTo(1));
    }

    [Test]
    public async Task Every_week_is_the_same_weekday_here_and_in_the_schedule_presets()
    {
        var (_, _, envelope) = await Rpc("tasks.create", """{"name":"weekly", "job_name":"echo", "recurring_interval":"EVERY_WEEK"}""");
        var task = envelope!["data"]!["schedule"]!;
        var (created, preset) = await Client.CreateSchedule(Json("""{"schedule_type": "CRON", "cron_expression": "EVERY_WEEK", "job_name": "echo"}""")).ReadAsync();
        Assert.That(created, Is.EqualTo(HttpStatusCode.Created), preset?.ToJsonString());
        Assert.That(task["cron_expression"]!.GetValue<string>(), Is.EqualTo("0 0 * * 0"));
        Assert.That(task.Time("next_run_at"), Is.EqualTo(preset!.Time("next_run_at")));
        Assert.That(task.Time("next_run_at").DayOfWeek, Is.EqualTo(DayOfWeek.Sunday));
    }

    [Test]
    public async Task Bad_recurrences_are_refused_in_the_envelope()
    {
        foreach (var body in new[]
                 {
                     """{"name":"a", "job_name":"echo", "recurring_interval":"EVERY_FORTNIGHT"}""",
                     """{"name":"b", "job_name":"echo", "recurring_interval":"EVERY_DAY", "recurring_details":"{not json"}""",
                     """{"name":"c", "job_name":"echo", "recurring_interval":"EVERY_DAY", "recurring_details":{"second":"5"}}""",
                     """{"name":"d", "job_name":"echo", "recurring_interval":"EVERY_DAY", "recurring_details":{"hour":"25"}}""",
                     """{"job_name":"echo"}""",
                 })
        {
            var (status, _, envelope) = await Rpc("tasks.create", body);
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), body);
            Assert.That(envelope!["success"]!.GetValue<bool>(), Is.False, body);
            Assert.That(envelope["error"]!.GetValue<string>(), Is.Not.Empty, body);
        }
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo("targets=0 schedules=0 runs=0 attempts=0"));
    }
}

/// <summary>Seed 004's reliable tasks: a task logged before the answer, run by a worker, and rescued by reconciliation when it fails silently.</summary>
public sealed class CeleryTasksTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Reconciliation__Cron"] = "",
        ["Reconciliation__Grace"] = "00:00:01",
    };

    [Test]
    public async Task The_readme_request_runs_and_a_silently_lost_task_is_retried_with_a_remark()
    {
        using var http = CreateHttpClient(Api.BaseAddress!);
        // curl -X POST -H "Content-Type: application/json" -d '{"data": "test data"}' http://localhost:5000/tasks
        var (status, _, accepted) = await CompatClient.SendAsync(http, HttpMethod.Post, "/celery/tasks", """{"data": "test data"}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(accepted!["status"]!.GetValue<string>(), Is.EqualTo("PENDING"));
        var id = accepted["id"]!.GetValue<long>();

        // No worker yet: the broker loses the task (its Hangfire job is gone), as seed 004's silent failure.
        // The API hands runs to Hangfire in the background: wait for the job, or it would be made after the loss.
        await TestDatabase.JobOfLatestRunAsync(id);
        await TestDatabase.ExecuteAsync("""
            DELETE FROM hangfire.jobqueue; DELETE FROM hangfire.job;
            UPDATE scheduler.runs SET hangfire_job_id = NULL, due_at = due_at - interval '1 minute', created_at = created_at - interval '1 minute';
            """);
        var (_, _, pending) = await CompatClient.SendAsync(http, HttpMethod.Get, $"/celery/tasks/{id}");
        Assert.That(pending!["status"]!.GetValue<string>(), Is.EqualTo("PENDING"));
        var (reconciled, _) = await Client.Reconcile().ReadAsync();
        Assert.That(reconciled, Is.EqualTo(HttpStatusCode.OK));

        await StartWorkerForTestAsync();
        var task = await Eventually.ValueAsync(async () =>
        {
            var (_, _, body) = await CompatClient.SendAsync(http, HttpMethod.Get, $"/celery/tasks/{id}");
            return body!["status"]!.GetValue<string>() == "SUCCESS" ? body : null;
        }, TimeSpan.FromSeconds(30), "the task to succeed");
        Assert.Multiple(() =>
        {
            Assert.That(task["task_id"]!.GetValue<string>(), Is.EqualTo(id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(task["data"]!.GetValue<string>(), Is.EqualTo("test data"));
            Assert.That(task["result"]!["data"]!.GetValue<string>(), Is.EqualTo("test data"), "the echo job's result");
            Assert.That(task["retries"]!.GetValue<int>(), Is.Zero);
            Assert.That(task["remarks"]!.AsArray().Select(r => r!.GetValue<string>()), Has.Some.StartsWith("Reconciliation: committed but never handed to a worker"));
        });
        var (missing, _, _) = await CompatClient.SendAsync(http, HttpMethod.Get, "/celery/tasks/999999");
        Assert.That(missing, Is.EqualTo(HttpStatusCode.NotFound));
        var (bad, _, _) = await CompatClient.SendAsync(http, HttpMethod.Post, "/celery/tasks", """{"nodata": 1}""");
        Assert.That(bad, Is.EqualTo(HttpStatusCode.UnprocessableEntity));
    }
}

/// <summary>Seed 000's Schedule Requests: add_request, status, Schedule Responses, callbacks with a profile, and process_pending_and_failed.</summary>
public sealed class ScheduleRequestsTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Compat__CallbackProfiles__erp__Headers__X-Erp-Token"] = "erp-token-1",
        ["Compat__CallbackProfiles__erp__Urls__0"] = Target.Url("/erp/"),
        ["Execution__RetryInitialIntervalSeconds"] = "1",
    };

    [Test]
    public async Task A_request_runs_reports_back_with_its_profile_and_a_failed_one_is_processed_again()
    {
        using var http = CreateHttpClient(Api.BaseAddress!);
        var (status, _, added) = await CompatClient.SendAsync(http, HttpMethod.Post, "/frappe/add_request", $$$"""
            {"method": "echo", "data": {"invoice": "INV-1"}, "callback_url": "{{{Target.Url("/erp/callback")}}}", "callback_profile": "erp",
             "tag": "billing", "reference_id": "ref-1", "ref_doctype": "Sales Invoice", "ref_docname": "INV-1"}
            """);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), added?.ToJsonString());
        var request = added!["message"]!;
        var name = request["name"]!.GetValue<string>();
        Assert.That(name, Does.Match("^SR-[0-9]{5,}$"));
        Assert.That(request["status"]!.GetValue<string>(), Is.AnyOf("Pending", "Processing", "Success"));

        // The profile's headers go only to the URLs configured with it.
        var (elsewhere, _, refused) = await CompatClient.SendAsync(http, HttpMethod.Post, "/frappe/add_request", $$$"""
            {"method": "echo", "callback_url": "{{{Target.Url("/erp/callback")}}}", "error_callback_url": "https://collector.example.com/erp/", "callback_profile": "erp"}
            """);
        Assert.That(elsewhere, Is.EqualTo(HttpStatusCode.ExpectationFailed), refused?.ToJsonString());
        Assert.That(refused!["exception"]!.GetValue<string>(), Does.Contain("error_callback_url").And.Contain("Compat:CallbackProfiles:erp:Urls"));
        var (otherPath, _, _) = await CompatClient.SendAsync(http, HttpMethod.Post, "/frappe/add_request", $$$"""
            {"method": "echo", "callback_url": "{{{Target.Url("/other/callback")}}}", "callback_profile": "erp"}
            """);
        Assert.That(otherPath, Is.EqualTo(HttpStatusCode.ExpectationFailed));

        var callback = (await Target.WaitForAsync("/erp/callback", 1, TimeSpan.FromSeconds(30))).Single();
        var payload = JsonNode.Parse(callback.Body)!;
        Assert.Multiple(() =>
        {
            Assert.That(callback.Header("X-Erp-Token"), Is.EqualTo("erp-token-1"), "the callback profile's headers");
            Assert.That(payload["process_status"]!.GetValue<string>(), Is.EqualTo("Success"));
            Assert.That(payload["reference_id"]!.GetValue<string>(), Is.EqualTo("ref-1"));
            Assert.That(payload["ref_doctype"]!.GetValue<string>(), Is.EqualTo("Sales Invoice"));
            Assert.That(payload["tag"]!.GetValue<string>(), Is.EqualTo("billing"));
        });
        var (_, _, doc) = await CompatClient.SendAsync(http, HttpMethod.Get, $"/frappe/schedule_request/{name}");
        Assert.That(doc!["message"]!["status"]!.GetValue<string>(), Is.EqualTo("Success"));
        Assert.That(doc["message"]!["data"]!["invoice"]!.GetValue<string>(), Is.EqualTo("INV-1"));
        var (_, _, responses) = await CompatClient.SendAsync(http, HttpMethod.Get, $"/frappe/schedule_response?schedule_request={name}");
        var response = responses!["message"]!.AsArray().Single()!;
        Assert.Multiple(() =>
        {
            Assert.That(response["process_status"]!.GetValue<string>(), Is.EqualTo("Success"));
            Assert.That(response["schedule_request"]!.GetValue<string>(), Is.EqualTo(name));
            Assert.That(response["data"]!["invoice"]!.GetValue<string>(), Is.EqualTo("INV-1"));
            Assert.That(response["ref_docname"]!.GetValue<string>(), Is.EqualTo("INV-1"));
            Assert.That(response["error"], Is.Null);
        });

        // An HTTP method that fails every attempt ends Failed; once it works, process_pending_and_failed runs it again.
        Target.Respond("/erp/endpoint", TestTarget.Status(500));
        var (_, _, failing) = await CompatClient.SendAsync(http, HttpMethod.Post, "/frappe/add_request",
            $$$"""{"method": "{{{Target.Url("/erp/endpoint")}}}", "data": {"x": 1}}""");
        var failingName = failing!["message"]!["name"]!.GetValue<string>();
        await Eventually.UntilAsync(async () =>
        {
            var (_, _, d) = await CompatClient.SendAsync(http, HttpMethod.Get, $"/frappe/schedule_request/{failingName}");
            return d!["message"]!["status"]!.GetValue<string>() == "Failed";
        }, TimeSpan.FromSeconds(60), "the request to fail");
        Assert.That(JsonNode.Parse(Target.ReceivedOn("/erp/endpoint")[0].Body)!["x"]!.GetValue<int>(), Is.EqualTo(1), "data is the JSON body");
        var (_, _, failedResponses) = await CompatClient.SendAsync(http, HttpMethod.Get, $"/frappe/schedule_response?schedule_request={failingName}");
        Assert.That(failedResponses!["message"]![0]!["process_status"]!.GetValue<string>(), Is.EqualTo("Failed"));
        Assert.That(failedResponses["message"]![0]!["error"]!.GetValue<string>(), Does.Contain("500"));

        Target.Respond("/erp/endpoint", TestTarget.Status(200, """{"ok": true}"""));
        var (processed, _, result) = await CompatClient.SendAsync(http, HttpMethod.Post, "/frappe/process_pending_and_failed");
        Assert.That(processed, Is.EqualTo(HttpStatusCode.OK), result?.ToJsonString());
        Assert.That(result!["message"]!["failed_requeued"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { failingName }));
        await Eventually.UntilAsync(async () =>
        {
            var (_, _, d) = await CompatClient.SendAsync(http, HttpMethod.Get, $"/frappe/schedule_request/{failingName}");
            return d!["message"]!["status"]!.GetValue<string>() == "Success";
        }, TimeSpan.FromSeconds(30), "the request to succeed when processed again");

        var (unknown, _, error) = await CompatClient.SendAsync(http, HttpMethod.Post, "/frappe/add_request", """{"method": "frappe.no.such.method"}""");
        Assert.That(unknown, Is.EqualTo(HttpStatusCode.ExpectationFailed));
        Assert.That(error!["exc_type"]!.GetValue<string>(), Is.EqualTo("ValidationError"));
        Assert.That(error["exception"]!.GetValue<string>(), Does.Contain("echo"), "lists the jobs there are");
    }
}

/// <summary>Every adapter at the root (prefix /), beside the native API: seed 004's and seed 002's clients call their own paths, unchanged.</summary>
public sealed class CompatAtRootTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Compat__CallmePrefix"] = "/",
        ["Compat__TasksPrefix"] = "/",
        ["Compat__CeleryPrefix"] = "/",
        ["Compat__FrappePrefix"] = "/",
    };

    [Test]
    public async Task The_seeds_own_paths_are_served_at_the_root_beside_the_native_api()
    {
        using var http = CreateHttpClient(Api.BaseAddress!);
        // Seed 004: curl -X POST -d '{"data": "test data"}' http://localhost:5000/tasks
        var (status, _, accepted) = await CompatClient.SendAsync(http, HttpMethod.Post, "/tasks", """{"data": "test data"}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.Accepted), accepted?.ToJsonString());
        var id = accepted!["id"]!.GetValue<long>();
        await Eventually.UntilAsync(async () =>
        {
            var (_, _, task) = await CompatClient.SendAsync(http, HttpMethod.Get, $"/tasks/{id}");
            return task!["status"]!.GetValue<string>() == "SUCCESS";
        }, TimeSpan.FromSeconds(30), "the task to succeed");

        // Seed 002: curl -XPUT --data '{"trigger_at":"+6h", "callback":…}' callme:6777/task/simpletask
        var (created, _, message) = await CompatClient.SendAsync(http, HttpMethod.Put, "/task/simpletask", """{"trigger_at":"+6h", "callback":"http://example.com/that-thing/run-it"}""");
        Assert.That(created, Is.EqualTo(HttpStatusCode.Created), message?.ToJsonString());
        var (_, _, entries) = await CompatClient.SendAsync(http, HttpMethod.Get, "/task/simpletask?pretty");
        Assert.That(entries!.AsObject().Single().Value!["task_name"]!.GetValue<string>(), Is.EqualTo("simpletask"));

        // Seeds 003 and 000 at the root too, and the native API as always.
        var (rpc, _, envelope) = await CompatClient.SendAsync(http, HttpMethod.Post, "/tasks.create", """{"name":"daily", "job_name":"echo", "recurring_interval":"EVERY_DAY"}""");
        Assert.That(rpc, Is.EqualTo(HttpStatusCode.OK), envelope?.ToJsonString());
        var (frappe, _, added) = await CompatClient.SendAsync(http, HttpMethod.Post, "/add_request", """{"method": "echo"}""");
        Assert.That(frappe, Is.EqualTo(HttpStatusCode.OK), added?.ToJsonString());
        var (native, schedule) = await Client.GetSchedule(id).ReadAsync();
        Assert.That(native, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(schedule!["source"]!.GetValue<string>(), Is.EqualTo("celery"));
        Assert.That(await TestDatabase.CountsAsync(), Does.StartWith("targets=1 schedules=4 "));
    }
}
