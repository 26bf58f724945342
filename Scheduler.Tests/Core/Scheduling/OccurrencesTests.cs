using Microsoft.Extensions.Time.Testing;
using Scheduler.Core.Model;
using Scheduler.Core.Scheduling;

namespace Scheduler.Tests.Core.Scheduling;

public sealed class OccurrencesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static Schedule Interval(int seconds, DateTimeOffset? end = null) =>
        new() { Id = 1, Type = end is null ? ScheduleType.Interval : ScheduleType.Window, IntervalSeconds = seconds, StartAt = T0, EndAt = end };

    private static Schedule Cron(string expression, string zone = "UTC") =>
        new() { Id = 2, Type = ScheduleType.Cron, CronExpression = expression, TimeZone = zone };

    [Test]
    public void Intervals_count_whole_steps_from_the_anchor_so_they_never_drift() => Assert.Multiple(() =>
    {
        var every7 = Interval(7);
        Assert.That(Occurrences.NextAtOrAfter(every7, T0.AddSeconds(-100)), Is.EqualTo(T0));
        Assert.That(Occurrences.NextAtOrAfter(every7, T0), Is.EqualTo(T0));
        Assert.That(Occurrences.NextAfter(every7, T0), Is.EqualTo(T0.AddSeconds(7)));
        Assert.That(Occurrences.NextAtOrAfter(every7, T0.AddSeconds(7001.5)), Is.EqualTo(T0.AddSeconds(7007)));
        Assert.That(Occurrences.LastBefore(every7, T0, T0.AddSeconds(7001.5)), Is.EqualTo(T0.AddSeconds(7000)));
        Assert.That(Occurrences.LastBefore(every7, T0.AddSeconds(7000.5), T0.AddSeconds(7001.5)), Is.Null);
    });

    [Test]
    public void A_window_has_no_occurrence_at_or_after_its_end() => Assert.Multiple(() =>
    {
        var window = Interval(10, end: T0.AddSeconds(30));
        Assert.That(Occurrences.NextAfter(window, T0.AddSeconds(10)), Is.EqualTo(T0.AddSeconds(20)));
        Assert.That(Occurrences.NextAfter(window, T0.AddSeconds(20)), Is.Null);
        Assert.That(Occurrences.LastBefore(window, T0, T0.AddHours(1)), Is.EqualTo(T0.AddSeconds(20)));
    });

    [Test]
    public void Cron_with_seconds_falls_on_its_boundaries() => Assert.Multiple(() =>
    {
        var every5s = Cron("*/5 * * * * *");
        Assert.That(Occurrences.NextAtOrAfter(every5s, T0.AddSeconds(1.2)), Is.EqualTo(T0.AddSeconds(5)));
        Assert.That(Occurrences.NextAfter(every5s, T0.AddSeconds(5)), Is.EqualTo(T0.AddSeconds(10)));
        Assert.That(Occurrences.LastBefore(every5s, T0, T0.AddDays(3).AddSeconds(3)), Is.EqualTo(T0.AddDays(3)));
    });

    [TestCase("EVERY_MINUTE", "2026-11-23T12:01:00Z")]
    [TestCase("EVERY_HOUR", "2026-11-23T13:00:00Z")]
    [TestCase("EVERY_DAY", "2026-11-24T00:00:00Z")]
    [TestCase("EVERY_WEEK", "2026-11-29T00:00:00Z")]
    [TestCase("EVERY_MONTH", "2026-12-01T00:00:00Z")]
    [TestCase("EVERY_QUARTER", "2027-01-01T00:00:00Z")]
    [TestCase("EVERY_YEAR", "2027-01-01T00:00:00Z")]
    public void Presets_fire_at_the_start_of_their_period(string preset, string expected) =>
        Assert.That(Occurrences.NextAfter(Cron(preset), T0), Is.EqualTo(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture)));

    [Test]
    public void Cron_in_berlin_across_dst_changes_computes_the_right_instants()
    {
        // A dispatcher's view: a fake clock walks through both 2026 changes; each occurrence is taken
        // when the clock reaches it.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 27, 0, 0, 0, TimeSpan.Zero));
        var daily = Cron("30 2 * * *", "Europe/Berlin");
        var hourly = Cron("0 * * * *", "Europe/Berlin");

        var spring = Walk(daily, clock, 4);
        Assert.That(spring, Is.EqualTo(Utc("2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z",
            "2026-03-29T01:00:00Z", // 02:30 does not exist that night: it runs at 03:00 CEST, the end of the gap
            "2026-03-30T00:30:00Z")));

        clock.SetUtcNow(new DateTimeOffset(2026, 10, 24, 0, 0, 0, TimeSpan.Zero));
        var autumn = Walk(daily, clock, 3);
        Assert.That(autumn, Is.EqualTo(Utc("2026-10-24T00:30:00Z",
            "2026-10-25T00:30:00Z", // 02:30 happens twice that night: it runs once, at the first (CEST)
            "2026-10-26T01:30:00Z")));

        clock = new FakeTimeProvider(new DateTimeOffset(2026, 10, 24, 23, 30, 0, TimeSpan.Zero));
        Assert.That(Walk(hourly, clock, 3), Is.EqualTo(Utc("2026-10-25T00:00:00Z",
            "2026-10-25T01:00:00Z", // an hourly expression runs in both 02:00 hours (CEST, then CET)
            "2026-10-25T02:00:00Z")));
    }

    private static List<DateTimeOffset> Walk(Schedule schedule, FakeTimeProvider clock, int count)
    {
        var fired = new List<DateTimeOffset>();
        var next = Occurrences.NextAfter(schedule, clock.GetUtcNow());
        while (fired.Count < count && next is { } due)
        {
            clock.SetUtcNow(due);
            fired.Add(due);
            next = Occurrences.NextAfter(schedule, clock.GetUtcNow());
        }
        return fired;
    }

    private static DateTimeOffset[] Utc(params string[] values) =>
        values.Select(v => DateTimeOffset.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    [TestCase("* * * *", null, "cron_expression")]
    [TestCase("61 * * * *", null, "cron_expression")]
    [TestCase("* * * * * * *", null, "cron_expression")]
    [TestCase("0 * * * *", "Mars/Olympus", "time_zone")]
    public void Bad_expressions_and_zones_are_named(string expression, string? zone, string bad)
    {
        var (spec, expressionError, zoneError) = CronSpec.Parse(expression, zone);
        Assert.That(spec, Is.Null);
        Assert.That(bad == "cron_expression" ? expressionError : zoneError, Is.Not.Empty);
    }
}
