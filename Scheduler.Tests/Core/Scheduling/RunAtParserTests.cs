using System.Text.Json;
using Scheduler.Core.Scheduling;

namespace Scheduler.Tests.Core.Scheduling;

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
    [TestCase("+999999999d")]
    [TestCase("+99999999d")]
    [TestCase("+999999999h")]
    [TestCase("+3000000d")]
    [TestCase("0001-01-01T00:00:00Z")]
    [TestCase("1969-12-31T23:59:59Z")]
    [TestCase("9999-01-01T00:00:00Z")]
    [TestCase("9999-12-31T23:59:59.9999999Z")]
    [TestCase("9999-12-31T23:59:59-01:00")]
    [TestCase("275760-09-13T00:00:00Z")]
    [TestCase("253402300799")]
    public void Anything_else_is_an_error_that_says_what_is_accepted(string text)
    {
        var (value, error) = RunAtParser.Parse(text, Now);
        Assert.That(value, Is.Null);
        Assert.That(error, Is.Not.Empty);
    }

    [TestCase("+999999999d", "too far in the future")]
    [TestCase("9999-12-31T23:59:59Z", "outside the supported range (1970-01-01T00:00:00Z to 9999-01-01T00:00:00Z)")]
    [TestCase("-1", "is not a time")]
    [TestCase("253402300800", "outside the supported Unix time range (0 to 253370764800")]
    public void Times_past_the_supported_range_say_so(string text, string message) =>
        Assert.That(RunAtParser.Parse(text, Now).Error, Does.Contain(message));

    [Test]
    public void The_last_relative_time_accepted_is_just_before_the_end_of_the_range()
    {
        var days = (long)(RunAtParser.MaxTime - Now).TotalDays;
        Assert.That(RunAtParser.Parse($"+{days}d", Now).Value, Is.EqualTo(Now.AddDays(days)));
        Assert.That(RunAtParser.Parse($"+{days + 1}d", Now).Error, Does.Contain("too far"));
    }

    [Test]
    public void A_json_boolean_is_an_error() =>
        Assert.That(RunAtParser.Parse(JsonDocument.Parse("true").RootElement, Now).Error, Does.Contain("string or a number"));
}
