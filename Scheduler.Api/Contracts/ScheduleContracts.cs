using System.Text.Json;
using Scheduler.Core.Model;

namespace Scheduler.Api.Contracts;

/// <summary>A schedule to create (<c>POST /schedules</c>): what to call, and when.</summary>
/// <param name="Name">A label for people; need not be unique.</param>
/// <param name="TargetId">An existing target to call. Give this or <paramref name="Target"/>.</param>
/// <param name="Target">A target given inline. Give this or <paramref name="TargetId"/>.</param>
/// <param name="ScheduleType">IMMEDIATE or ONCE.</param>
/// <param name="RunAt">For ONCE: ISO-8601 time, Unix seconds, or relative (<c>+90s</c>, <c>+10m</c>, <c>+6h</c>, <c>+2d</c>).</param>
public sealed record ScheduleRequest(
    string? Name,
    long? TargetId,
    TargetRequest? Target,
    string? ScheduleType,
    JsonElement? RunAt);

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
    DateTimeOffset? NextRunAt,
    DateTimeOffset? LastRunAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static ScheduleResponse From(Schedule schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return new(schedule.Id, schedule.Name, schedule.TargetId,
            schedule.Target is { Inline: true } inline ? TargetResponse.From(inline) : null,
            schedule.Type, schedule.Status, schedule.RunAt, schedule.IntervalSeconds, schedule.DurationSeconds,
            schedule.NextRunAt, schedule.LastRunAt, schedule.CreatedAt, schedule.UpdatedAt);
    }
}
