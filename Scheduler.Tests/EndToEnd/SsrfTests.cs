using System.Net.Sockets;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// The SSRF guard with its defaults, against a real target on 127.0.0.1: literal addresses are refused at
/// submission, names that resolve to private addresses are refused where the worker connects, and the
/// target receives nothing.
/// </summary>
public sealed class SsrfTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Outbound__AllowPrivateNetworks"] = "false",
    };

    private static readonly string[] LiteralHosts =
    [
        "127.0.0.1", "127.1", "2130706433", "0x7f.0.0.1", "0.0.0.0", "[::1]", "[::ffff:127.0.0.1]", "169.254.169.254", "10.0.0.1", "localhost",
    ];

    [Test]
    public async Task Literal_private_addresses_are_refused_at_submission_naming_the_field_and_saying_how_to_allow_them()
    {
        var port = new Uri(Target.Url("/")).Port;
        foreach (var host in LiteralHosts)
        {
            var url = $"http://{host}:{port}/ssrf";
            var (status, problem) = await Client.CreateSchedule(Json($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{url}}}"}}""")).ReadAsync();
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), $"{url}: {problem?.ToJsonString()}");
            var message = problem!["errors"]!["target.url"]![0]!.GetValue<string>();
            Assert.That(message, Does.Contain("Outbound:AllowPrivateNetworks=true").And.Contain("Outbound:AllowedNetworks"), url);

            (status, problem) = await Client.CreateSchedule(Json($$$"""{"schedule_type": "IMMEDIATE", "callback_url": "{{{url}}}", "target": {"url": "https://example.com/"}}""")).ReadAsync();
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), $"callback {url}");
            Assert.That(problem!["errors"]!["callback_url"], Is.Not.Null, $"callback {url}");

            (status, problem) = await Client.CreateTarget(Json($$$"""{"name": "t", "url": "{{{url}}}"}""")).ReadAsync();
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), $"target {url}");
            Assert.That(problem!["errors"]!["url"], Is.Not.Null);
        }
        var (_, refused) = await Client.CreateSchedule(Json("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://169.254.169.254/latest/meta-data/"}}""")).ReadAsync();
        Assert.That(refused!["errors"]!["target.url"]![0]!.GetValue<string>(), Does.Contain("link-local").And.Contain("metadata"));
        foreach (var scheme in new[] { "ftp://example.com/", "file:///etc/passwd", "gopher://example.com/" })
        {
            var (status, _) = await Client.CreateSchedule(Json($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{scheme}}}"}}""")).ReadAsync();
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), scheme);
        }
        Assert.That(await TestDatabase.CountsAsync(), Is.EqualTo("targets=0 schedules=0 runs=0 attempts=0"));
        Assert.That(Target.Received, Is.Empty);
    }

    [Test]
    public async Task A_host_name_that_resolves_to_a_private_address_fails_the_attempt_as_blocked_without_a_retry()
    {
        var name = LocalName();
        var url = $"http://{name}:{new Uri(Target.Url("/")).Port}/by-name";
        var scheduleId = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{url}}}"}, "retry": {"max_attempts": 3}}""");

        var run = await Client.WaitForFinishedRunAsync(scheduleId, TimeSpan.FromSeconds(30));
        Assert.Multiple(() =>
        {
            Assert.That(run.Status(), Is.EqualTo("CONNECTION_ERROR"));
            Assert.That(run["error_type"]!.GetValue<string>(), Is.EqualTo("blocked"));
            Assert.That(run["error_message"]!.GetValue<string>(), Does.Contain($"{name} resolves to").And.Contain("Outbound:AllowPrivateNetworks=true"));
            Assert.That(run["attempts"]!.AsArray(), Has.Count.EqualTo(1), "a refused address is not retried");
        });
        Assert.That(Target.ReceivedOn("/by-name"), Is.Empty);
    }

    /// <summary>A name other than localhost that this machine resolves to loopback among others (its own host name, from /etc/hosts).</summary>
    internal static string LocalName()
    {
        foreach (var candidate in new[] { Dns.GetHostName(), "vm", "runsc" })
        {
            try
            {
                // The machine's own name also resolves to its interface addresses; here those are private too.
                if (Dns.GetHostAddresses(candidate).Any(IPAddress.IsLoopback))
                {
                    return candidate;
                }
            }
            catch (SocketException)
            {
                // Not resolvable here; try the next.
            }
        }
        Assert.Fail("No host name on this machine resolves to a loopback address (checked the host name, vm, runsc).");
        return "";
    }
}

/// <summary>Allowed networks open exactly what they name; redirects are checked at every hop.</summary>
public sealed class SsrfAllowedNetworksTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Outbound__AllowPrivateNetworks"] = "false",
        ["Outbound__AllowedNetworks__0"] = "127.0.0.1/32",
    };

    [Test]
    public async Task An_allowed_network_is_reached_and_a_redirect_from_it_to_a_refused_address_is_blocked()
    {
        Target.Respond("/to-metadata", TestTarget.Redirect("http://169.254.169.254/latest/meta-data/"));
        Target.Respond("/to-ipv6-loopback", TestTarget.Redirect($"http://[::1]:{new Uri(Target.Url("/")).Port}/secret"));
        var allowed = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/allowed")}}}"}}""");
        var toMetadata = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/to-metadata")}}}"}}""");
        var toLoopback = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/to-ipv6-loopback")}}}"}}""");

        Assert.That((await Client.WaitForFinishedRunAsync(allowed, TimeSpan.FromSeconds(30))).Status(), Is.EqualTo("SUCCESS"), "127.0.0.1/32 is allowed");
        foreach (var (id, refused) in new[] { (toMetadata, "169.254.169.254"), (toLoopback, "::1") })
        {
            var run = await Client.WaitForFinishedRunAsync(id, TimeSpan.FromSeconds(30));
            Assert.That(run["error_type"]!.GetValue<string>(), Is.EqualTo("blocked"), run.ToJsonString());
            Assert.That(run["error_message"]!.GetValue<string>(), Does.Contain(refused));
        }
        Assert.That(Target.ReceivedOn("/to-metadata"), Has.Count.EqualTo(1), "the first hop was made");
        Assert.That(Target.ReceivedOn("/secret"), Is.Empty, "the refused hop was not");
    }
}

/// <summary>With private networks allowed (trusted networks, local development) the loopback target is reached.</summary>
public sealed class SsrfPrivateNetworksAllowedTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Outbound__AllowPrivateNetworks"] = "true",
    };

    [Test]
    public async Task Loopback_targets_are_reached_by_address_and_by_name()
    {
        var port = new Uri(Target.Url("/")).Port;
        foreach (var host in new[] { "127.0.0.1", "localhost", SsrfTests.LocalName() })
        {
            var id = await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "http://{{{host}}}:{{{port}}}/private"}}""");
            JsonNode run = await Client.WaitForFinishedRunAsync(id, TimeSpan.FromSeconds(30));
            Assert.That(run.Status(), Is.EqualTo("SUCCESS"), host);
        }
        Assert.That(Target.ReceivedOn("/private"), Has.Count.EqualTo(3));
    }
}
