using System.Text.Json;
using Scheduler.Api.Validation;
using Scheduler.Core.Hosting;
using Scheduler.Core.Scheduling;

namespace Scheduler.Api.Schedules;

/// <summary>
/// The "when" of a schedule: which fields each kind takes, their rules, and the first occurrence. Used
/// by POST (everything comes from the request) and PUT (fields not given keep their values, unless the
/// kind changes).
/// </summary>
internal static class ScheduleTiming
{
    private static readonly Dictionary<ScheduleType, string[]> Fields = new()
    {
        [ScheduleType.Immediate] = [],
        [ScheduleType.Once] = ["run_at"],
        [ScheduleType.Interval] = ["interval_seconds", "start_at"],
        [ScheduleType.Window] = ["interval_seconds", "duration_seconds", "end_at", "start_at"],
        [ScheduleType.Cron] = ["cron_expression", "time_zone", "start_at", "end_at"],
    };

    public const int MaxIntervalSeconds = 366 * 24 * 3600;

    /// <summary>
    /// Applies the request's timing and policies to <paramref name="schedule"/> and returns its first
    /// occurrence (null with errors added when something is wrong).
    /// </summary>
    public static DateTimeOffset? Apply(ScheduleRequest request, Schedule schedule, bool isNew, DateTimeOffset now, SchedulingOptions options, ValidationErrors errors)
    {
        // Times are kept to the microsecond (PostgreSQL's resolution); "now" is too, so a schedule
        // anchored now has its first occurrence now.
        now = RunAtParser.TruncateToMicroseconds(now);
        ApplyPolicies(request, schedule, errors);

        ScheduleType type;
        if (request.ScheduleType is null)
        {
            if (isNew)
            {
                errors.Add("schedule_type", $"is required: one of {string.Join(", ", WireName.Values<ScheduleType>())}.");
                return null;
            }
            type = schedule.Type;
        }
        else if (!WireName.TryParse(request.ScheduleType.Trim(), out type))
        {
            errors.Add("schedule_type", $"'{request.ScheduleType}' is not a schedule type: use one of {string.Join(", ", WireName.Values<ScheduleType>())}.");
            return null;
        }
        if (!isNew && type == ScheduleType.Immediate && schedule.Type != ScheduleType.Immediate)
        {
            errors.Add("schedule_type", "a schedule cannot become IMMEDIATE; use POST /schedules/{id}/trigger for one run now.");
            return null;
        }

        var given = Given(request);
        foreach (var field in given.Where(f => !Fields[type].Contains(f)))
        {
            var kinds = Fields.Where(k => k.Value.Contains(field)).Select(k => WireName.Of(k.Key));
            errors.Add(field, $"does not apply to {WireName.Of(type)} schedules (it is for {string.Join(" and ", kinds)}).");
        }
        if (errors.Any)
        {
            return null;
        }

        // A schedule that changes kind keeps none of its old timing.
        if (isNew || type != schedule.Type)
        {
            schedule.RunAt = schedule.StartAt = schedule.EndAt = null;
            schedule.IntervalSeconds = schedule.DurationSeconds = null;
            schedule.CronExpression = schedule.TimeZone = null;
        }
        schedule.Type = type;
        return type switch
        {
            ScheduleType.Immediate => now,
            ScheduleType.Once => ApplyOnce(request, schedule, now, errors),
            ScheduleType.Interval or ScheduleType.Window => ApplyInterval(request, schedule, now, options, errors),
            _ => ApplyCron(request, schedule, now, errors),
        };
    }

    private static DateTimeOffset? ApplyOnce(ScheduleRequest request, Schedule schedule, DateTimeOffset now, ValidationErrors errors)
    {
        if (request.RunAt is { } runAtJson)
        {
            var runAt = Time(runAtJson, "run_at", now, errors);
            if (runAt < now)
            {
                errors.Add("run_at", $"{runAt:O} is in the past (now is {now:O}); use IMMEDIATE to run now.");
                return null;
            }
            schedule.RunAt = runAt;
        }
        else if (schedule.RunAt is null)
        {
            errors.Add("run_at", "is required for ONCE schedules: an ISO-8601 time, Unix seconds, or a relative time such as '+90s'.");
        }
        return errors.Any ? null : schedule.RunAt;
    }

    private static DateTimeOffset? ApplyInterval(ScheduleRequest request, Schedule schedule, DateTimeOffset now, SchedulingOptions options, ValidationErrors errors)
    {
        var window = schedule.Type == ScheduleType.Window;
        if (request.IntervalSeconds is { } interval)
        {
            if (interval < options.MinIntervalSeconds || interval > MaxIntervalSeconds)
            {
                errors.Add("interval_seconds", $"must be between {options.MinIntervalSeconds} and {MaxIntervalSeconds}.");
            }
            schedule.IntervalSeconds = interval;
        }
        else if (schedule.IntervalSeconds is null)
        {
            errors.Add("interval_seconds", $"is required for {WireName.Of(schedule.Type)} schedules: seconds between runs (at least {options.MinIntervalSeconds}).");
        }

        if (request.StartAt is { } startJson)
        {
            schedule.StartAt = Time(startJson, "start_at", now, errors);
        }
        schedule.StartAt ??= now;

        if (window)
        {
            if (request.DurationSeconds is not null && request.EndAt is not null)
            {
                errors.Add("duration_seconds", "give duration_seconds or end_at, not both.");
            }
            else if (request.DurationSeconds is { } duration)
            {
                if (duration < 1 || duration > MaxIntervalSeconds)
                {
                    errors.Add("duration_seconds", $"must be between 1 and {MaxIntervalSeconds}.");
                }
                else if (schedule.StartAt.Value >= RunAtParser.MaxTime - TimeSpan.FromSeconds(duration))
                {
                    // Times end before MaxTime; a window starting just before it would end past what can be stored.
                    errors.Add("duration_seconds", $"the window must close before {RunAtParser.MaxTime:O}.");
                }
                else
                {
                    schedule.DurationSeconds = duration;
                    schedule.EndAt = schedule.StartAt + TimeSpan.FromSeconds(duration);
                }
            }
            else if (request.EndAt is { } endJson)
            {
                schedule.EndAt = Time(endJson, "end_at", now, errors);
                if (schedule.EndAt is { } end)
                {
                    // Kept as whole seconds in an int, for the answer: a window longer than that (68 years) is refused.
                    var seconds = Math.Ceiling((end - schedule.StartAt.Value).TotalSeconds);
                    if (seconds > int.MaxValue)
                    {
                        errors.Add("end_at", $"the window may stay open at most {int.MaxValue} seconds (about 68 years).");
                    }
                    else
                    {
                        schedule.DurationSeconds = (int)seconds;
                    }
                }
            }
            else if (schedule.EndAt is null)
            {
                errors.Add("duration_seconds", "is required for WINDOW schedules (or give end_at): how long the window stays open.");
            }
            if (!errors.Any && schedule.EndAt <= schedule.StartAt)
            {
                errors.Add(request.EndAt is null ? "duration_seconds" : "end_at", "the window must end after it starts.");
            }
            else if (!errors.Any && schedule.EndAt <= now)
            {
                errors.Add(request.EndAt is null ? "duration_seconds" : "end_at", $"the window has already closed ({schedule.EndAt:O}).");
            }
        }
        return errors.Any ? null : Occurrences.NextAtOrAfter(schedule, now);
    }

    private static DateTimeOffset? ApplyCron(ScheduleRequest request, Schedule schedule, DateTimeOffset now, ValidationErrors errors)
    {
        var expression = request.CronExpression ?? schedule.CronExpression;
        var zone = request.TimeZone ?? schedule.TimeZone;
        var (spec, expressionError, zoneError) = CronSpec.Parse(expression, zone);
        if (expressionError is not null)
        {
            errors.Add("cron_expression", expressionError);
        }
        if (zoneError is not null)
        {
            errors.Add("time_zone", zoneError);
        }
        if (request.StartAt is { } startJson)
        {
            schedule.StartAt = Time(startJson, "start_at", now, errors);
        }
        if (request.EndAt is { } endJson)
        {
            schedule.EndAt = Time(endJson, "end_at", now, errors);
        }
        if (spec is null || errors.Any)
        {
            return null;
        }
        schedule.CronExpression = expression!.Trim();
        schedule.TimeZone = spec.Zone.Id;
        var next = Occurrences.NextAtOrAfter(schedule, now);
        if (next is null)
        {
            errors.Add(schedule.EndAt is null ? "cron_expression" : "end_at", "the schedule has no occurrence left to run.");
        }
        return next;
    }

    private static void ApplyPolicies(ScheduleRequest request, Schedule schedule, ValidationErrors errors)
    {
        if (request.OverlapPolicy is { } overlap)
        {
            if (WireName.TryParse<OverlapPolicy>(overlap.Trim(), out var value))
            {
                schedule.OverlapPolicy = value;
            }
            else
            {
                errors.Add("overlap_policy", $"must be one of {string.Join(", ", WireName.Values<OverlapPolicy>())}.");
            }
        }
        if (request.CatchUpPolicy is { } catchUp)
        {
            if (WireName.TryParse<CatchUpPolicy>(catchUp.Trim(), out var value))
            {
                schedule.CatchUpPolicy = value;
            }
            else
            {
                errors.Add("catch_up_policy", $"must be one of {string.Join(", ", WireName.Values<CatchUpPolicy>())}.");
            }
        }
    }

    private static DateTimeOffset? Time(JsonElement value, string field, DateTimeOffset now, ValidationErrors errors)
    {
        var (parsed, error) = RunAtParser.Parse(value, now);
        if (error is not null)
        {
            errors.Add(field, error);
        }
        return parsed;
    }

    private static List<string> Given(ScheduleRequest request)
    {
        var given = new List<string>();
        void Add(bool present, string field)
        {
            if (present)
            {
                given.Add(field);
            }
        }
        Add(request.RunAt is not null, "run_at");
        Add(request.IntervalSeconds is not null, "interval_seconds");
        Add(request.DurationSeconds is not null, "duration_seconds");
        Add(request.StartAt is not null, "start_at");
        Add(request.EndAt is not null, "end_at");
        Add(request.CronExpression is not null, "cron_expression");
        Add(request.TimeZone is not null, "time_zone");
        return given;
    }
}
