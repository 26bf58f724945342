using System.Text.Json;
using System.Text.Json.Serialization;
using Scheduler.Core.Observability;

namespace Scheduler.Api.Contracts;

/// <summary>
/// One occurrence of a schedule. <c>attempts</c> is present on <c>GET /runs/{id}</c>; <c>parent_run_id</c>, on a
/// CONTINUATION run, names the finished run that started it.
/// </summary>
public sealed record RunResponse(
    long Id,
    long ScheduleId,
    RunStatus Status,
    RunTrigger Trigger,
    long? ParentRunId,
    DateTimeOffset DueAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    double? LatencyMs,
    double? LatenessMs,
    int? StatusCode,
    long? ResponseSizeBytes,
    string? ResponseExcerpt,
    ErrorType? ErrorType,
    string? ErrorMessage,
    int AttemptCount,
    IReadOnlyList<string> Remarks,
    string? HangfireJobId,
    DeliveryStatus? CallbackStatus,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? NextAttemptAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<AttemptResponse>? Attempts,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<DeliveryResponse>? CallbackDeliveries)
{
    /// <summary>
    /// The W3C trace id of the run's trace (32 hex digits): the API request's for a run a request made, else the one the
    /// dispatcher began for it; every attempt's span, the calls' and the callbacks' are in it. Null for a run made before
    /// traces were kept.
    /// </summary>
    public string? TraceId { get; init; }

    /// <summary>While WAITING: when the accepted call times out (completion_timeout) unless completed or extended by a heartbeat.</summary>
    public DateTimeOffset? CompletionDeadlineAt { get; init; }

    /// <summary>The message of the target's completion (POST /runs/{id}/complete).</summary>
    public string? CompletionMessage { get; init; }

    /// <summary>The output of the target's completion, as it sent it; present on <c>GET /runs/{id}</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Output { get; init; }

    public static RunResponse From(Run run, bool withAttempts)
    {
        ArgumentNullException.ThrowIfNull(run);
        var traceId = SchedulerTracing.TraceIdOf(run.TraceParent);
        return WithCompletion(run, withAttempts, new(run.Id, run.ScheduleId, run.Status, run.Trigger, run.ParentRunId, run.DueAt, run.StartedAt, run.CompletedAt,
            run.LatencyMs, run.LatenessMs, run.StatusCode, run.ResponseSizeBytes, run.ResponseExcerpt, run.ErrorType,
            run.ErrorMessage, run.AttemptCount, run.Remarks, run.HangfireJobId, run.CallbackStatus, run.CreatedAt,
            run.UpdatedAt, run.NextAttemptAt,
            withAttempts ? run.Attempts.OrderBy(a => a.AttemptNumber).Select(a => AttemptResponse.From(a) with { TraceId = traceId }).ToList() : null,
            withAttempts ? run.CallbackDeliveries.OrderBy(d => d.Id).Select(DeliveryResponse.From).ToList() : null)
        { TraceId = traceId });
    }

    // The output (up to 64 KiB) only with the run's details, like its attempts, so lists stay small.
    private static RunResponse WithCompletion(Run run, bool detailed, RunResponse response) => response with
    {
        CompletionDeadlineAt = run.Status == RunStatus.Waiting ? run.CompletionDeadlineAt : null,
        CompletionMessage = run.CompletionMessage,
        Output = detailed && run.Output is { } output ? JsonSerializer.Deserialize<JsonElement>(output) : null,
    };
}

/// <summary>One callback delivery of a run's outcome, with its own attempts.</summary>
public sealed record DeliveryResponse(
    long Id,
    DeliveryKind Kind,
    string Url,
    DeliveryStatus Status,
    int AttemptCount,
    int? StatusCode,
    string? ErrorMessage,
    double? LatencyMs,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset? LastAttemptAt,
    DateTimeOffset? DeliveredAt,
    string? HangfireJobId)
{
    public static DeliveryResponse From(CallbackDelivery delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        return new(delivery.Id, delivery.Kind, delivery.Url, delivery.Status, delivery.AttemptCount, delivery.StatusCode,
            delivery.ErrorMessage, delivery.LatencyMs, delivery.NextAttemptAt, delivery.LastAttemptAt, delivery.DeliveredAt,
            delivery.HangfireJobId);
    }
}

public sealed record AttemptResponse(
    long Id,
    int AttemptNumber,
    AttemptStatus Status,
    bool Manual,
    string? Worker,
    DateTimeOffset StartedAt,
    DateTimeOffset? CompletedAt,
    int? StatusCode,
    double? LatencyMs,
    long? ResponseSizeBytes,
    ErrorType? ErrorType,
    string? ErrorMessage)
{
    /// <summary>The trace the attempt's span is in: the run's (each attempt's span is a child of the run's trace context).</summary>
    public string? TraceId { get; init; }

    public static AttemptResponse From(Attempt attempt)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        return new(attempt.Id, attempt.AttemptNumber, attempt.Status, attempt.Manual, attempt.Worker, attempt.StartedAt,
            attempt.CompletedAt, attempt.StatusCode, attempt.LatencyMs, attempt.ResponseSizeBytes, attempt.ErrorType,
            attempt.ErrorMessage);
    }
}
