using System.Text.Json;
using Scheduler.Core.Scheduling;

namespace Scheduler.Tests.Units;

public sealed class RunAtParserTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [TestCase("+90s", 90)]
    [TestCase("+10m", 600)]
    [TestCase("+6h", 21600)]
    [TestCase("+2d", 172800)]
    [TestCase(" +1S ", 1)]
    public void Relative_times_count_from_now(string text, int seconds) =>
        Assert.That(RunAtParser.Parse(text, Now), Is.EqualTo(((DateTimeOffset?)Now.AddSeconds(seconds), (string?)null)));

    [TestCase("2030-01-01T12:00:00Z", "2030-01-01T12:00:00+00:00")]
    [TestCase("2030-01-01T14:00:00+02:00", "2030-01-01T12:00:00+00:00")]
    [TestCase("2030-01-01T12:00:00.1234567Z", "2030-01-01T12:00:00.123456+00:00")]
    [TestCase("1893499200", "2030-01-01T12:00:00+00:00")]
    [TestCase("1893499200.25", "2030-01-01T12:00:00.25+00:00")]
    public void Absolute_times_are_iso_8601_or_unix_seconds_kept_to_the_microsecond(string text, string expected) =>
        Assert.That(RunAtParser.Parse(text, Now).Value, Is.EqualTo(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture)));

    [Test]
    public void A_json_number_is_unix_seconds() =>
        Assert.That(RunAtParser.Parse(JsonDocument.Parse("1893499200").RootElement, Now).Value,
            Is.EqualTo(new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero)));

    [TestCase("")]
    [TestCase("+")]
    [TestCase("+m")]
    [TestCase("+6")]
    [TestCase("6h")]
    [TestCase("+6z")]
    [TestCase("+-6h")]
    [TestCase("+9999999999d")]
    [TestCase("-5")]
    [TestCase("tomorrow")]
    [TestCase("2030-01-01")]
    [TestCase("99999999999999999999")]
    public void Anything_else_is_an_error_that_says_what_is_accepted(string text)
    {
        var (value, error) = RunAtParser.Parse(text, Now);
        Assert.That(value, Is.Null);
        Assert.That(error, Is.Not.Empty);
    }

    [Test]
    public void A_json_boolean_is_an_error() =>
        Assert.That(RunAtParser.Parse(JsonDocument.Parse("true").RootElement, Now).Error, Does.Contain("string or a number"));
}
