namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// The proxy variables of the environment are not a way round the SSRF guard: without Outbound:Proxy the
/// worker connects directly, whatever HTTP_PROXY, HTTPS_PROXY and ALL_PROXY say.
/// </summary>
public sealed class ProxyFromEnvironmentTests : SystemTestBase
{
    private TestTarget _proxy = null!;

    protected override bool StartsWorker => false;

    [OneTimeSetUp]
    public async Task StartProxyAndWorkerAsync()
    {
        _proxy = await TestTarget.StartAsync();
        var proxy = _proxy.Url("/").TrimEnd('/');
        var settings = new Dictionary<string, string>(Settings)
        {
            ["HTTP_PROXY"] = proxy, ["HTTPS_PROXY"] = proxy, ["ALL_PROXY"] = proxy,
            ["http_proxy"] = proxy, ["https_proxy"] = proxy, ["all_proxy"] = proxy,
            ["NO_PROXY"] = "", ["no_proxy"] = "",
        };
        Worker = await SchedulerProcess.StartWorkerAsync(settings);
    }

    [OneTimeTearDown]
    public async Task StopProxyAsync() => await _proxy.DisposeAsync();

    [Test]
    public async Task Calls_and_callbacks_ignore_the_environments_proxy_variables()
    {
        var id = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/direct")}}}"}, "callback_url": "{{{Target.Url("/direct-callback")}}}"}
            """);
        var run = await Client.WaitForFinishedRunAsync(id, Seconds(30));
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"), run.ToJsonString());
        await Target.WaitForAsync("/direct-callback", 1, Seconds(30));
        Assert.That(Target.ReceivedOn("/direct"), Has.Count.EqualTo(1), "the call went straight to the target");
        Assert.That(_proxy.Received.Select(r => r.RawTarget), Is.Empty, "the proxy was never asked");
    }
}

/// <summary>
/// With Outbound:Proxy the calls go through that proxy, and the SSRF guard still judges each target's
/// own address (every hop), never only the proxy's. The proxy listens on 127.0.0.2, an allowed network;
/// targets on 127.0.0.3 are allowed, and the machine's own name (which resolves to other loopback or
/// private addresses) is not.
/// </summary>
public sealed class ProxyTests : SystemTestBase
{
    private TestTarget _proxy = null!;

    protected override bool StartsWorker => false;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Outbound__AllowPrivateNetworks"] = "false",
        ["Outbound__AllowedNetworks__0"] = "127.0.0.2/32",
        ["Outbound__AllowedNetworks__1"] = "127.0.0.3/32",
    };

    [OneTimeSetUp]
    public async Task StartProxyAndWorkerAsync()
    {
        _proxy = await TestTarget.StartAsync("127.0.0.2");
        var proxy = _proxy.Url("/").TrimEnd('/');
        // The environment names the proxy too: the guard must not settle for judging the proxy's address.
        Worker = await SchedulerProcess.StartWorkerAsync(new Dictionary<string, string>(Settings)
        {
            ["Outbound__Proxy"] = proxy,
            ["HTTP_PROXY"] = proxy, ["http_proxy"] = proxy, ["NO_PROXY"] = "", ["no_proxy"] = "",
        });
    }

    [OneTimeTearDown]
    public async Task StopProxyAsync() => await _proxy.DisposeAsync();

    [Test]
    public async Task Calls_go_through_the_proxy_and_a_target_whose_address_is_refused_is_refused_at_every_hop()
    {
        var refusedHost = SsrfTests.LocalName();
        var port = new Uri(Target.Url("/")).Port;
        // Nothing listens on 127.0.0.3: an answer can only come from the proxy.
        var allowed = await Client.CreateScheduleAsync("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.3:9/through-proxy"}}""");
        var refused = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "http://{{{refusedHost}}}:{{{port}}}/refused"}, "retry": {"max_attempts": 3},
             "callback_url": "http://{{{refusedHost}}}:{{{port}}}/refused-callback"}
            """);
        _proxy.Respond("/hop", TestTarget.Redirect($"http://{refusedHost}:{port}/refused-hop"));
        var redirected = await Client.CreateScheduleAsync("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.3:9/hop"}}""");

        var run = await Client.WaitForFinishedRunAsync(allowed, Seconds(30));
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"), run.ToJsonString());
        Assert.That(_proxy.ReceivedOn("/through-proxy").Single().RawTarget, Is.EqualTo("http://127.0.0.3:9/through-proxy"), "asked as a proxy, with the absolute URI");

        foreach (var id in new[] { refused, redirected })
        {
            run = await Client.WaitForFinishedRunAsync(id, Seconds(30));
            Assert.Multiple(() =>
            {
                Assert.That(run["error_type"]?.GetValue<string>(), Is.EqualTo("blocked"), run.ToJsonString());
                Assert.That(run["error_message"]!.GetValue<string>(), Does.Contain($"{refusedHost} resolves to").And.Contain("Outbound:AllowedNetworks"));
                Assert.That(run["attempts"]!.AsArray(), Has.Count.EqualTo(1), "a refused address is not retried");
            });
        }
        // The callback of the refused run is refused too (it goes out through the same client).
        var delivery = await Eventually.ValueAsync(async () =>
        {
            var detail = (await Client.GetRun((await Client.RunsOfAsync(refused))[0]["id"]!.GetValue<long>()).ReadAsync()).Body!;
            return detail["callback_deliveries"]?.AsArray().FirstOrDefault(d => d!["attempt_count"]!.GetValue<int>() > 0);
        }, Seconds(30), "the callback's first delivery attempt");
        Assert.That(delivery!["error_message"]!.GetValue<string>(), Does.Contain($"{refusedHost} resolves to"));

        Assert.That(_proxy.ReceivedOn("/hop"), Has.Count.EqualTo(1), "the first hop was made through the proxy");
        Assert.That(_proxy.Received.Select(r => r.Path), Has.None.StartsWith("/refused"), "the proxy was never asked for a refused target");
        Assert.That(Target.Received, Is.Empty);
    }
}

/// <summary>A fixture with a second target on another port: another origin.</summary>
public abstract class OtherOriginTestBase : SystemTestBase
{
    protected TestTarget Other { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartOtherOriginAsync() => Other = await TestTarget.StartAsync();

    [OneTimeTearDown]
    public async Task StopOtherOriginAsync() => await Other.DisposeAsync();
}

/// <summary>
/// A redirect to another origin (scheme, host or port) is followed without the headers marked secret and
/// without the signature; a redirect within the origin keeps them. Calls and callbacks alike.
/// </summary>
public sealed class CrossOriginRedirectTests : OtherOriginTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Execution__SigningSecret"] = "global-secret-for-callbacks",
    };

    [Test]
    public async Task Secret_headers_and_the_signature_are_dropped_on_a_redirect_to_another_origin_and_kept_within_one()
    {
        Target.Respond("/cross", TestTarget.Redirect(Other.Url("/landing")));
        Target.Respond("/same", TestTarget.StatusWithHeader(307, "Location", "/same-landing"));
        Target.Respond("/cb-cross", TestTarget.StatusWithHeader(307, "Location", Other.Url("/cb-landing")));
        Target.Respond("/cb-same", TestTarget.StatusWithHeader(308, "Location", Target.Url("/cb-same-landing")));
        var (_, created) = await Client.CreateTarget(Json($$$"""
            {"name": "redirecting", "url": "{{{Target.Url("/cross")}}}", "signing_secret": "a-target-secret-0123456789",
             "headers": {"Authorization": "Bearer sk-live-1", "X-Api-Token": "tok-2", "X-Plain": "visible"}}
            """)).ReadAsync();
        var cross = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "target_id": {{{created!["id"]}}},
             "callback_url": "{{{Target.Url("/cb-cross")}}}", "callback_headers": {"X-Callback-Token": "cb-3", "X-Plain": "visible"}}
            """);
        var same = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/same")}}}", "method": "POST", "body": "{}", "signing_secret": "a-target-secret-0123456789",
             "headers": {"Authorization": "Bearer sk-live-1", "X-Api-Token": "tok-2"}},
             "callback_url": "{{{Target.Url("/cb-same")}}}", "callback_headers": {"X-Callback-Token": "cb-3"}}
            """);
        foreach (var id in new[] { cross, same })
        {
            var run = await Client.WaitForFinishedRunAsync(id, Seconds(30));
            Assert.That(run.Status(), Is.EqualTo("SUCCESS"), run.ToJsonString());
        }

        var landing = (await Other.WaitForAsync("/landing", 1, Seconds(30))).Single();
        var callbackLanding = (await Other.WaitForAsync("/cb-landing", 1, Seconds(30))).Single();
        var sameLanding = (await Target.WaitForAsync("/same-landing", 1, Seconds(30))).Single();
        var callbackSameLanding = (await Target.WaitForAsync("/cb-same-landing", 1, Seconds(30))).Single();
        Assert.Multiple(() =>
        {
            Assert.That(Target.ReceivedOn("/cross").Single().Header("Authorization"), Is.EqualTo("Bearer sk-live-1"), "the first hop has them");
            foreach (var (request, what) in new[] { (landing, "call"), (callbackLanding, "callback") })
            {
                Assert.That(request.Headers.Keys, Has.None.EqualTo("Authorization").IgnoreCase
                    .And.None.EqualTo("X-Api-Token").IgnoreCase
                    .And.None.EqualTo("X-Callback-Token").IgnoreCase
                    .And.None.EqualTo("Scheduler-Signature").IgnoreCase, $"{what} on another origin");
                Assert.That(request.Header("X-Plain"), Is.EqualTo("visible"), $"{what}: other headers follow");
            }
            Assert.That(callbackLanding.Method, Is.EqualTo("POST"), "307 keeps the method");
            Assert.That(JsonNode.Parse(callbackLanding.Body)!["status"]!.GetValue<string>(), Is.EqualTo("SUCCESS"), "and the body");

            Assert.That(sameLanding.Header("Authorization"), Is.EqualTo("Bearer sk-live-1"), "same origin");
            Assert.That(sameLanding.Header("X-Api-Token"), Is.EqualTo("tok-2"));
            Assert.That(sameLanding.Header("Scheduler-Signature"), Does.StartWith("t="));
            Assert.That((sameLanding.Method, sameLanding.Body), Is.EqualTo(("POST", "{}")));
            Assert.That(callbackSameLanding.Header("X-Callback-Token"), Is.EqualTo("cb-3"));
            Assert.That(callbackSameLanding.Header("Scheduler-Signature"), Does.StartWith("t="));
        });
    }
}

/// <summary>With Outbound:CrossOriginRedirects=DoNotFollow a redirect to another origin ends the call; one within the origin is followed.</summary>
public sealed class CrossOriginRedirectsNotFollowedTests : OtherOriginTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Outbound__CrossOriginRedirects"] = "DoNotFollow",
    };

    [Test]
    public async Task A_redirect_to_another_origin_is_not_followed_and_the_run_says_why()
    {
        Target.Respond("/cross", TestTarget.Redirect(Other.Url("/landing")));
        Target.Respond("/same", TestTarget.Redirect("/same-landing"));
        var cross = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/cross")}}}", "headers": {"Authorization": "Bearer sk-live-1"}}, "retry": {"max_attempts": 1}}
            """);
        var same = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/same")}}}"}}""");

        var run = await Client.WaitForFinishedRunAsync(cross, Seconds(30));
        Assert.Multiple(() =>
        {
            Assert.That((run.Status(), run["status_code"]?.GetValue<int>()), Is.EqualTo(("FAILED", 302)), run.ToJsonString());
            Assert.That(run["error_message"]!.GetValue<string>(), Does.Contain("not followed").And.Contain(Other.Url("/landing")).And.Contain("Outbound:CrossOriginRedirects"));
        });
        Assert.That((await Client.WaitForFinishedRunAsync(same, Seconds(30))).Status(), Is.EqualTo("SUCCESS"));
        Assert.That(Target.ReceivedOn("/same-landing"), Has.Count.EqualTo(1));
        Assert.That(Other.Received, Is.Empty);
    }
}
