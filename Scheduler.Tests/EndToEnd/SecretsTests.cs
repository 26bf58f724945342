namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// Credentials given for targets and callbacks reach the target, and nothing else: encrypted in the
/// database, <c>***</c> in every answer, absent from every log line (debug level included).
/// </summary>
public sealed class SecretsTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Serilog__MinimumLevel__Default"] = "Debug",
    };

    private const string Bearer = "Bearer sk-live-SECRET-one-7f3a";
    private const string Token = "tok-SECRET-two-91bd";
    private const string Signing = "signing-SECRET-three-0c55e1";
    private const string CallbackToken = "cb-SECRET-four-44aa";
    private static readonly string[] Secrets = ["SECRET-one", "SECRET-two", "SECRET-three", "SECRET-four"];

    [Test]
    public async Task Secret_headers_are_sent_to_the_target_but_never_shown_stored_in_clear_or_logged()
    {
        var (status, created) = await Client.CreateTarget(Json($$$"""
            {"name": "secret-target", "url": "{{{Target.Url("/secret")}}}", "signing_secret": "{{{Signing}}}",
             "headers": {"Authorization": "{{{Bearer}}}", "X-Api-Token": "{{{Token}}}", "X-Plain": "visible"}}
            """)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), created?.ToJsonString());
        var targetId = created!["id"]!.GetValue<long>();
        Assert.Multiple(() =>
        {
            Assert.That(created["headers"]!["Authorization"]!.GetValue<string>(), Is.EqualTo("***"));
            Assert.That(created["headers"]!["X-Api-Token"]!.GetValue<string>(), Is.EqualTo("***"));
            Assert.That(created["headers"]!["X-Plain"]!.GetValue<string>(), Is.EqualTo("visible"));
            Assert.That(created["signing_secret"]!.GetValue<string>(), Is.EqualTo("***"));
        });

        var scheduleId = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "target_id": {{{targetId}}}, "callback_url": "{{{Target.Url("/callback")}}}",
             "callback_headers": {"X-Callback-Token": "{{{CallbackToken}}}"}}
            """);
        var run = await Client.WaitForFinishedRunAsync(scheduleId, TimeSpan.FromSeconds(30));
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
        var call = (await Target.WaitForAsync("/secret", 1, TimeSpan.FromSeconds(30))).Single();
        var callback = (await Target.WaitForAsync("/callback", 1, TimeSpan.FromSeconds(30))).Single();
        Assert.Multiple(() =>
        {
            Assert.That(call.Header("Authorization"), Is.EqualTo(Bearer), "the worker decrypts for the call");
            Assert.That(call.Header("X-Api-Token"), Is.EqualTo(Token));
            Assert.That(call.Header("X-Plain"), Is.EqualTo("visible"));
            Assert.That(call.Header("Scheduler-Signature"), Does.StartWith("t="), "signed with the decrypted secret");
            Assert.That(callback.Header("X-Callback-Token"), Is.EqualTo(CallbackToken));
        });

        // An update that sends the masked answer back keeps the secrets.
        var (_, current) = await Client.GetTarget(targetId).ReadAsync();
        current!.AsObject().Remove("id");
        foreach (var field in new[] { "inline", "created_at", "updated_at" })
        {
            current.AsObject().Remove(field);
        }
        var (updateStatus, updated) = await Client.UpdateTarget(targetId, Json(current.ToJsonString())).ReadAsync();
        Assert.That(updateStatus, Is.EqualTo(HttpStatusCode.OK), updated?.ToJsonString());
        await Client.TriggerSchedule(scheduleId).ReadAsync();
        var second = (await Target.WaitForAsync("/secret", 2, TimeSpan.FromSeconds(30)))[1];
        Assert.That(second.Header("Authorization"), Is.EqualTo(Bearer), "*** in an update kept the stored value");

        // At rest: encrypted.
        var stored = await TestDatabase.ScalarAsync<string>(
            "SELECT string_agg(t.headers::text || coalesce(t.signing_secret, '') || s.callback_headers::text, ' ') FROM scheduler.targets t JOIN scheduler.schedules s ON s.target_id = t.id");
        Assert.That(stored, Does.Contain("enc:v1:").And.Contain("visible"));
        AssertNoSecret(stored, "the database");

        // In every answer.
        using var http = CreateHttpClient(Api.BaseAddress!);
        var runId = run["id"]!.GetValue<long>();
        foreach (var path in new[] { "/targets", $"/targets/{targetId}", "/schedules", $"/schedules/{scheduleId}", "/runs", $"/runs/{runId}", "/metrics", "/hangfire/jobs/succeeded" })
        {
            AssertNoSecret(await http.GetStringAsync(new Uri(path, UriKind.Relative)), path);
        }
        var (_, schedule) = await Client.GetSchedule(scheduleId).ReadAsync();
        Assert.That(schedule!["callback_headers"]!["X-Callback-Token"]!.GetValue<string>(), Is.EqualTo("***"));

        // In the logs of both processes, at debug level.
        AssertNoSecret(Api.Output, "the API's log");
        AssertNoSecret(Worker!.Output, "the worker's log");
        Assert.That(Worker.Output, Does.Contain($"Run {runId} attempt 1"), "the worker's log was captured");
    }

    [Test]
    public async Task Secrets_do_not_follow_a_target_or_a_callback_to_another_origin()
    {
        await using var elsewhere = await TestTarget.StartAsync();
        var (status, created) = await Client.CreateTarget(Json($$$"""
            {"name": "moving-target", "url": "{{{Target.Url("/moving")}}}", "signing_secret": "{{{Signing}}}",
             "headers": {"Authorization": "{{{Bearer}}}", "X-Plain": "visible"}}
            """)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), created?.ToJsonString());
        var targetId = created!["id"]!.GetValue<long>();
        var scheduleId = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "ONCE", "run_at": "+1d", "target_id": {{{targetId}}}, "callback_url": "{{{Target.Url("/moving-callback")}}}",
             "callback_headers": {"X-Callback-Token": "{{{CallbackToken}}}", "X-Plain": "visible"}}
            """);

        // Another path at the same origin keeps them (the masked answer sent back, or nothing).
        var (samePath, sameBody) = await Client.UpdateTarget(targetId, Json($$$"""{"url": "{{{Target.Url("/moved")}}}", "headers": {"Authorization": "***", "X-Plain": "visible"}}""")).ReadAsync();
        Assert.That(samePath, Is.EqualTo(HttpStatusCode.OK), sameBody?.ToJsonString());
        await Client.TriggerSchedule(scheduleId).ReadAsync();
        var kept = (await Target.WaitForAsync("/moved", 1, Seconds(30))).Single();
        Assert.That((kept.Header("Authorization"), kept.Header("Scheduler-Signature") is not null), Is.EqualTo((Bearer, true)));
        await Target.WaitForAsync("/moving-callback", 1, Seconds(30));

        // Another port without the secrets given again: the target's secret headers and signing secret, and the
        // callback's secret headers, are dropped; the plain headers stay.
        var (moved, movedBody) = await Client.UpdateTarget(targetId, Json($$$"""{"url": "{{{elsewhere.Url("/stolen")}}}", "headers": {"Authorization": "***", "X-Plain": "visible"}}""")).ReadAsync();
        Assert.That(moved, Is.EqualTo(HttpStatusCode.OK), movedBody?.ToJsonString());
        Assert.That(movedBody!["headers"]!.AsObject().Select(h => h.Key), Is.EqualTo(new[] { "X-Plain" }));
        Assert.That(movedBody["signing_secret"], Is.Null);
        var (callbackMoved, callbackBody) = await Client.UpdateSchedule(scheduleId, Json($$$"""{"callback_url": "{{{elsewhere.Url("/stolen-callback")}}}"}""")).ReadAsync();
        Assert.That(callbackMoved, Is.EqualTo(HttpStatusCode.OK), callbackBody?.ToJsonString());
        await Client.TriggerSchedule(scheduleId).ReadAsync();
        var call = (await elsewhere.WaitForAsync("/stolen", 1, Seconds(30))).Single();
        var callback = (await elsewhere.WaitForAsync("/stolen-callback", 1, Seconds(30))).Single();
        Assert.Multiple(() =>
        {
            Assert.That(call.Header("Authorization"), Is.Null, "the target's secret header stayed behind");
            Assert.That(call.Header("Scheduler-Signature"), Is.Null, "the signing secret stayed behind");
            Assert.That(call.Header("X-Plain"), Is.EqualTo("visible"));
            Assert.That(callback.Header("X-Callback-Token"), Is.Null, "the callback's secret header stayed behind");
            Assert.That(callback.Header("X-Plain"), Is.EqualTo("visible"));
        });

        // Given again in clear with the move, they go to the new origin.
        var (resent, resentBody) = await Client.UpdateTarget(targetId, Json($$$"""{"url": "{{{Target.Url("/back")}}}", "headers": {"Authorization": "{{{Bearer}}}"}, "signing_secret": "{{{Signing}}}"}""")).ReadAsync();
        Assert.That(resent, Is.EqualTo(HttpStatusCode.OK), resentBody?.ToJsonString());
        Assert.That((resentBody!["headers"]!["Authorization"]!.GetValue<string>(), resentBody["signing_secret"]!.GetValue<string>()), Is.EqualTo(("***", "***")));
        AssertNoSecret(Api.Output, "the API's log");
    }

    [Test]
    public void Secret_header_names_follow_the_rules() => Assert.Multiple(() =>
    {
        foreach (var name in new[] { "Authorization", "proxy-authorization", "Cookie", "X-Api-Key", "X-Auth-Token", "client_secret", "X-Password", "Session-Id" })
        {
            Assert.That(Scheduler.Core.Security.SecretProtector.IsSecretHeader(name), Is.True, name);
        }
        foreach (var name in new[] { "Accept", "Content-Type", "X-Request-Id", "User-Agent" })
        {
            Assert.That(Scheduler.Core.Security.SecretProtector.IsSecretHeader(name), Is.False, name);
        }
    });

    private static void AssertNoSecret(string text, string where)
    {
        foreach (var secret in Secrets)
        {
            Assert.That(text, Does.Not.Contain(secret), $"{secret} in {where}");
        }
    }
}
