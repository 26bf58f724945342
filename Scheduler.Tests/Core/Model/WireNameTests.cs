using Scheduler.Core.Model;

namespace Scheduler.Tests.Core.Model;

public sealed class WireNameTests
{
    [Test]
    public void Statuses_are_seed_001s_upper_snake_case() => Assert.Multiple(() =>
    {
        Assert.That(WireName.Of(RunStatus.DnsError), Is.EqualTo("DNS_ERROR"));
        Assert.That(WireName.Of(RunStatus.ConnectionError), Is.EqualTo("CONNECTION_ERROR"));
        Assert.That(WireName.Of(ScheduleType.Immediate), Is.EqualTo("IMMEDIATE"));
        Assert.That(WireName.Of(RunTrigger.CatchUp), Is.EqualTo("CATCH_UP"));
    });

    [Test]
    public void Error_types_are_lower_case_as_the_design_spells_them() =>
        Assert.That(WireName.Values<ErrorType>(), Is.SupersetOf(new[] { "http_4xx", "http_5xx", "timeout", "dns", "connection", "tls", "blocked", "unexpected_status" }));

    [TestCase("dns_error", RunStatus.DnsError)]
    [TestCase("SUCCESS", RunStatus.Success)]
    public void Parsing_ignores_case(string wire, RunStatus expected) =>
        Assert.That(WireName.Parse<RunStatus>(wire), Is.EqualTo(expected));

    [Test]
    public void An_unknown_name_does_not_parse() =>
        Assert.That(WireName.TryParse<RunStatus>("DnsError", out _), Is.False);
}
