using System.Text.Json;
using Scheduler.Core.Model;

namespace Scheduler.Api.Contracts;

/// <summary>
/// A schedule to create (<c>POST /schedules</c>) or change (<c>PUT /schedules/{id}</c>, where absent
/// fields keep their values): what to call, and when.
/// </summary>
/// <param name="Name">A label for people; need not be unique.</param>
/// <param name="TargetId">An existing target to call. Give this or <paramref name="Target"/>.</param>
/// <param name="Target">A target given inline. Give this or <paramref name="TargetId"/>.</param>
/// <param name="ScheduleType">IMMEDIATE, ONCE, INTERVAL, WINDOW or CRON.</param>
/// <param name="RunAt">ONCE: ISO-8601 time, Unix seconds, or relative (<c>+90s</c>, <c>+10m</c>, <c>+6h</c>, <c>+2d</c>).</param>
/// <param name="IntervalSeconds">INTERVAL and WINDOW: seconds between runs.</param>
/// <param name="DurationSeconds">WINDOW: how long the window stays open (or give <paramref name="EndAt"/>).</param>
/// <param name="StartAt">INTERVAL and WINDOW: the first run (default now), from which runs are counted; CRON: no run before it.</param>
/// <param name="EndAt">WINDOW: when the window closes (or give <paramref name="DurationSeconds"/>); CRON: no run at or after it.</param>
/// <param name="CronExpression">CRON: 5 fields, 6 with seconds first, or a preset such as EVERY_HOUR.</param>
/// <param name="TimeZone">CRON: an IANA time zone (default UTC).</param>
/// <param name="OverlapPolicy">SKIP (default), ALLOW or BUFFER_ONE: whether a run may start while an earlier one is going.</param>
/// <param name="CatchUpPolicy">ONE (default), ALL or NONE: what happens to occurrences missed while nothing ran.</param>
public sealed record ScheduleRequest(
    string? Name,
    long? TargetId,
    TargetRequest? Target,
    string? ScheduleType,
    JsonElement? RunAt,
    int? IntervalSeconds,
    int? DurationSeconds,
    JsonElement? StartAt,
    JsonElement? EndAt,
    string? CronExpression,
    string? TimeZone,
    string? OverlapPolicy,
    string? CatchUpPolicy);

public sealed record ScheduleResponse(
    long Id,
    string? Name,
    long? TargetId,
    TargetResponse? Target,
    ScheduleType ScheduleType,
    ScheduleStatus Status,
    DateTimeOffset? RunAt,
    int? IntervalSeconds,
    int? DurationSeconds,
    DateTimeOffset? StartAt,
    DateTimeOffset? EndAt,
    string? CronExpression,
    string? TimeZone,
    OverlapPolicy OverlapPolicy,
    CatchUpPolicy CatchUpPolicy,
    DateTimeOffset? NextRunAt,
    DateTimeOffset? LastRunAt,
    IReadOnlyList<string> Remarks,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static ScheduleResponse From(Schedule schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return new(schedule.Id, schedule.Name, schedule.TargetId,
            schedule.Target is { Inline: true } inline ? TargetResponse.From(inline) : null,
            schedule.Type, schedule.Status, schedule.RunAt, schedule.IntervalSeconds, schedule.DurationSeconds,
            schedule.StartAt, schedule.EndAt, schedule.CronExpression, schedule.TimeZone, schedule.OverlapPolicy,
            schedule.CatchUpPolicy, schedule.NextRunAt, schedule.LastRunAt, schedule.Remarks, schedule.CreatedAt,
            schedule.UpdatedAt);
    }
}
