namespace Scheduler.Core.Scheduling;

/// <summary>
/// When a schedule's occurrences fall, kind by kind. INTERVAL and WINDOW count whole intervals from
/// their anchor (<c>start_at</c>), so they never drift and a restart recalculates rather than restarts;
/// a WINDOW has no occurrence at or after <c>end_at</c>. CRON follows its expression in its time zone.
/// ONCE has one occurrence, <c>run_at</c>.
/// </summary>
public static class Occurrences
{
    private static readonly TimeSpan OneTick = TimeSpan.FromTicks(10); // one microsecond, PostgreSQL's resolution

    /// <summary>The first occurrence at or after <paramref name="from"/>, or null when the schedule has no more.</summary>
    public static DateTimeOffset? NextAtOrAfter(Schedule schedule, DateTimeOffset from)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        DateTimeOffset? next = schedule.Type switch
        {
            ScheduleType.Once => schedule.RunAt is { } runAt && runAt >= from ? runAt : null,
            ScheduleType.Interval or ScheduleType.Window => NextInterval(schedule, from),
            ScheduleType.Cron => NextCron(schedule, from),
            _ => null,
        };
        return next is { } value && schedule.EndAt is { } end && value >= end ? null : next;
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>.</summary>
    public static DateTimeOffset? NextAfter(Schedule schedule, DateTimeOffset after) => NextAtOrAfter(schedule, after + OneTick);

    /// <summary>
    /// The last occurrence in [<paramref name="from"/>, <paramref name="before"/>), or null. Intervals are
    /// computed; other kinds are searched backwards in widening spans, so long gaps stay cheap.
    /// </summary>
    public static DateTimeOffset? LastBefore(Schedule schedule, DateTimeOffset from, DateTimeOffset before)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (schedule.Type is ScheduleType.Interval or ScheduleType.Window && schedule.StartAt is { } anchor && schedule.IntervalSeconds is { } seconds)
        {
            var limit = schedule.EndAt is { } end && end < before ? end : before;
            if (limit <= anchor)
            {
                return null;
            }
            var interval = TimeSpan.FromSeconds(seconds).Ticks;
            var last = anchor + TimeSpan.FromTicks((limit - anchor - OneTick).Ticks / interval * interval);
            return last >= from ? last : null;
        }
        foreach (var span in SearchSpans)
        {
            var start = span == TimeSpan.MaxValue || before - from <= span ? from : before - span;
            DateTimeOffset? last = null;
            for (var t = NextAtOrAfter(schedule, start); t is { } value && value < before; t = NextAfter(schedule, value))
            {
                last = value;
            }
            if (last is not null || start == from)
            {
                return last;
            }
        }
        return null;
    }

    private static readonly TimeSpan[] SearchSpans =
        [TimeSpan.FromMinutes(2), TimeSpan.FromHours(2), TimeSpan.FromDays(2), TimeSpan.FromDays(40), TimeSpan.FromDays(400), TimeSpan.MaxValue];

    private static DateTimeOffset? NextInterval(Schedule schedule, DateTimeOffset from)
    {
        var anchor = schedule.StartAt ?? throw new InvalidOperationException($"Schedule {schedule.Id} has no start_at anchor.");
        var interval = TimeSpan.FromSeconds(schedule.IntervalSeconds ?? throw new InvalidOperationException($"Schedule {schedule.Id} has no interval."));
        if (from <= anchor)
        {
            return anchor;
        }
        var elapsed = (from - anchor).Ticks;
        var steps = (elapsed + interval.Ticks - 1) / interval.Ticks;
        return anchor + TimeSpan.FromTicks(steps * interval.Ticks);
    }

    private static DateTimeOffset? NextCron(Schedule schedule, DateTimeOffset from)
    {
        var spec = CronSpec.ForStored(schedule.CronExpression ?? throw new InvalidOperationException($"Schedule {schedule.Id} has no cron expression."), schedule.TimeZone);
        if (schedule.StartAt is { } start && from < start)
        {
            from = start;
        }
        return spec.NextAtOrAfter(from);
    }
}
