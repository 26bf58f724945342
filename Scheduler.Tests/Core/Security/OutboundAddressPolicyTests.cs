using Microsoft.Extensions.Options;
using Scheduler.Core.Security;

namespace Scheduler.Tests.Core.Security;

public sealed class OutboundAddressPolicyTests
{
    private static OutboundAddressPolicy Policy(bool allowPrivate = false, params string[] allowed) =>
        new(Options.Create(new OutboundOptions { AllowPrivateNetworks = allowPrivate, AllowedNetworks = [.. allowed] }));

    [TestCase("127.0.0.1", "loopback")]
    [TestCase("127.255.255.254", "loopback")]
    [TestCase("10.0.0.1", "private")]
    [TestCase("172.16.5.4", "private")]
    [TestCase("192.168.1.1", "private")]
    [TestCase("100.64.0.1", "carrier-grade NAT")]
    [TestCase("169.254.169.254", "link-local")]
    [TestCase("0.0.0.0", "unspecified")]
    [TestCase("255.255.255.255", "reserved")]
    [TestCase("224.0.0.1", "multicast")]
    [TestCase("::1", "loopback")]
    [TestCase("::", "unspecified")]
    [TestCase("fe80::1", "link-local")]
    [TestCase("fd00::1", "unique-local")]
    [TestCase("fec0::1", "site-local")]
    [TestCase("ff02::1", "multicast")]
    [TestCase("::ffff:127.0.0.1", "loopback")]
    [TestCase("::ffff:169.254.169.254", "link-local")]
    [TestCase("64:ff9b::a9fe:a9fe", "link-local")]
    public void Non_public_addresses_are_refused_with_the_reason_and_how_to_allow_them(string address, string kind)
    {
        var refusal = Policy().Refusal(IPAddress.Parse(address));
        Assert.That(refusal, Does.Contain(kind).And.Contain("Outbound:AllowPrivateNetworks=true").And.Contain("Outbound:AllowedNetworks"));
    }

    [TestCase("93.184.215.14")]
    [TestCase("8.8.8.8")]
    [TestCase("2606:4700::1111")]
    [TestCase("::ffff:8.8.8.8")]
    public void Public_addresses_are_allowed(string address) => Assert.That(Policy().Refusal(IPAddress.Parse(address)), Is.Null);

    [Test]
    public void Configuration_opens_exactly_what_it_names() => Assert.Multiple(() =>
    {
        Assert.That(Policy(allowPrivate: true).Refusal(IPAddress.Loopback), Is.Null);
        var tenTwenty = Policy(false, "10.20.0.0/16");
        Assert.That(tenTwenty.Refusal(IPAddress.Parse("10.20.3.4")), Is.Null);
        Assert.That(tenTwenty.Refusal(IPAddress.Parse("10.21.3.4")), Is.Not.Null);
        Assert.That(tenTwenty.Refusal(IPAddress.Parse("::ffff:10.20.3.4")), Is.Null, "a mapped address is judged by its IPv4 address");
        Assert.That(Policy().Refusal("localhost"), Does.StartWith("localhost is a loopback address"));
        Assert.That(Policy().Refusal("api.localhost."), Is.Not.Null);
        Assert.That(Policy().Refusal("[::1]"), Is.Not.Null);
        Assert.That(Policy().Refusal("example.com"), Is.Null, "names are resolved and checked by the worker");
    });

    [Test]
    public void A_bad_allowed_network_is_named() =>
        Assert.That(new OutboundOptionsValidator().Validate(null, new OutboundOptions { AllowedNetworks = ["10.0.0.0/8", "not-a-cidr"] }).Failures,
            Has.Some.Contains("Outbound:AllowedNetworks:1 'not-a-cidr'"));
}
