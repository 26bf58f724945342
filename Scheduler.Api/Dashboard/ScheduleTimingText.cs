using System.Globalization;

namespace Scheduler.Api.Dashboard;

/// <summary>A schedule's timing in words, for the dashboard: "every 5 min from …", "cron 0 9 * * 1-5 (Europe/Paris)".</summary>
internal static class ScheduleTimingText
{
    public static string Describe(Schedule schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return Describe(schedule.Type, schedule.RunAt, schedule.IntervalSeconds, schedule.StartAt, schedule.EndAt, schedule.CronExpression, schedule.TimeZone);
    }

    public static string Describe(
        ScheduleType type, DateTimeOffset? runAt, int? intervalSeconds, DateTimeOffset? startAt, DateTimeOffset? endAt, string? cron, string? timeZone) => type switch
    {
        ScheduleType.Immediate => "once, as soon as possible",
        ScheduleType.Once => $"once at {At(runAt)}",
        ScheduleType.Interval => $"every {Every(intervalSeconds)}{(startAt is null ? "" : $" from {At(startAt)}")}",
        ScheduleType.Window => $"every {Every(intervalSeconds)} from {At(startAt)} until {At(endAt)}",
        ScheduleType.Cron => $"cron {cron} ({timeZone ?? "UTC"}){(startAt is null ? "" : $" from {At(startAt)}")}{(endAt is null ? "" : $" until {At(endAt)}")}",
        _ => type.ToString(),
    };

    /// <summary>A number of seconds in the largest units that divide it: 90 → "1 min 30 s", 7200 → "2 h".</summary>
    public static string Every(int? seconds)
    {
        if (seconds is not > 0)
        {
            return "?";
        }
        var span = TimeSpan.FromSeconds(seconds.Value);
        var parts = new List<string>();
        if (span.Days > 0)
        {
            parts.Add(Invariant($"{span.Days} d"));
        }
        if (span.Hours > 0)
        {
            parts.Add(Invariant($"{span.Hours} h"));
        }
        if (span.Minutes > 0)
        {
            parts.Add(Invariant($"{span.Minutes} min"));
        }
        if (span.Seconds > 0)
        {
            parts.Add(Invariant($"{span.Seconds} s"));
        }
        return string.Join(' ', parts);
    }

    private static string At(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "?";

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}
