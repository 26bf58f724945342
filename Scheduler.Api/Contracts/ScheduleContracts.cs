using System.Text.Json;
using Scheduler.Core.Security;

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
/// <param name="JobName">A named job to run instead of an HTTP call (GET /jobs lists them). Give this, target_id or target.</param>
/// <param name="Args">JSON arguments for the named job.</param>
/// <param name="ExpectedHttpStatus">The status code (or list) that counts as success; default any 2xx.</param>
/// <param name="Retry">Attempts and backoff for failed calls; defaults from configuration.</param>
/// <param name="MaxDelaySeconds">A run whose first attempt would start this long or more after its due time is SKIPPED (0: every run).</param>
/// <param name="CallbackUrl">Receives the outcome of each run (POST, JSON).</param>
/// <param name="ErrorCallbackUrl">Receives the outcome of failed runs instead of callback_url.</param>
/// <param name="CallbackHeaders">Headers sent with callbacks.</param>
/// <param name="NoResponse">Do not keep the response body.</param>
/// <param name="ReferenceId">Passed through to callbacks (seed 000).</param>
/// <param name="RefDoctype">Passed through to callbacks (seed 000).</param>
/// <param name="RefDocname">Passed through to callbacks (seed 000).</param>
/// <param name="Tag">Passed through to callbacks (seed 000).</param>
/// <param name="Continuations">Schedules that get one run (trigger CONTINUATION) when a run of this one finishes a given way; at most 20, no cycles. On PUT, a list replaces the schedule's continuations (<c>[]</c> removes them); absent keeps them.</param>
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
    string? CatchUpPolicy,
    string? JobName = null,
    JsonElement? Args = null,
    JsonElement? ExpectedHttpStatus = null,
    RetryRequest? Retry = null,
    int? MaxDelaySeconds = null,
    string? CallbackUrl = null,
    string? ErrorCallbackUrl = null,
    Dictionary<string, string>? CallbackHeaders = null,
    bool? NoResponse = null,
    string? ReferenceId = null,
    string? RefDoctype = null,
    string? RefDocname = null,
    string? Tag = null,
    IReadOnlyList<ContinuationRequest?>? Continuations = null);

/// <summary>One of a schedule's continuations: when its run finishes as <paramref name="When"/> says, <paramref name="ScheduleId"/> gets a run.</summary>
/// <param name="When">success (the run ended SUCCESS), failure (it ended unsuccessfully with no retry left) or any.</param>
/// <param name="ScheduleId">A live schedule; each at most once in the list.</param>
public sealed record ContinuationRequest(string? When, long? ScheduleId);

/// <summary>One of a schedule's continuations, as written.</summary>
public sealed record ContinuationResponse(ContinuationWhen When, long ScheduleId);

/// <summary>Several schedules to create at once (<c>POST /schedules/bulk</c>): all of them, or none.</summary>
/// <param name="Schedules">Each as <c>POST /schedules</c> takes it; at most Limits:MaxBulkSchedules.</param>
public sealed record BulkScheduleRequest(IReadOnlyList<ScheduleRequest>? Schedules);

/// <summary>The schedules created, in the order given.</summary>
public sealed record BulkScheduleResponse(int Count, IReadOnlyList<ScheduleResponse> Schedules);

/// <summary>How failed calls are retried.</summary>
/// <param name="MaxAttempts">Attempts in all, the first included (default 3).</param>
/// <param name="InitialIntervalSeconds">Delay before the second attempt; doubling after, with jitter.</param>
/// <param name="MaxIntervalSeconds">The longest delay between attempts.</param>
public sealed record RetryRequest(int? MaxAttempts, int? InitialIntervalSeconds, int? MaxIntervalSeconds);

public sealed record RetryResponse(int? MaxAttempts, int? InitialIntervalSeconds, int? MaxIntervalSeconds);

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
    string? JobName,
    JsonElement? Args,
    IReadOnlyList<int> ExpectedHttpStatus,
    RetryResponse Retry,
    int? MaxDelaySeconds,
    string? CallbackUrl,
    string? ErrorCallbackUrl,
    IReadOnlyDictionary<string, string> CallbackHeaders,
    bool NoResponse,
    IReadOnlyList<ContinuationResponse> Continuations,
    string? ReferenceId,
    string? RefDoctype,
    string? RefDocname,
    string? Tag,
    DateTimeOffset? NextRunAt,
    DateTimeOffset? LastRunAt,
    IReadOnlyList<string> Remarks,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string Source,
    string? ExternalKey)
{
    public static ScheduleResponse From(Schedule schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return new(schedule.Id, schedule.Name, schedule.TargetId,
            schedule.Target is { Inline: true } inline ? TargetResponse.From(inline) : null,
            schedule.Type, schedule.Status, schedule.RunAt, schedule.IntervalSeconds, schedule.DurationSeconds,
            schedule.StartAt, schedule.EndAt, schedule.CronExpression, schedule.TimeZone, schedule.OverlapPolicy,
            schedule.CatchUpPolicy, schedule.JobName,
            schedule.JobArgs is null ? null : JsonDocument.Parse(schedule.JobArgs).RootElement.Clone(),
            schedule.ExpectedHttpStatus,
            new RetryResponse(schedule.MaxAttempts, schedule.RetryInitialIntervalSeconds, schedule.RetryMaxIntervalSeconds),
            schedule.MaxDelaySeconds, schedule.CallbackUrl, schedule.ErrorCallbackUrl, SecretProtector.MaskHeaders(schedule.CallbackHeaders), schedule.NoResponse,
            schedule.Continuations.OrderBy(c => c.Position).Select(c => new ContinuationResponse(c.When, c.NextScheduleId)).ToList(),
            schedule.ReferenceId, schedule.RefDoctype, schedule.RefDocname, schedule.Tag, schedule.NextRunAt, schedule.LastRunAt, schedule.Remarks, schedule.CreatedAt,
            schedule.UpdatedAt, schedule.Source, schedule.ExternalKey);
    }
}
