namespace Scheduler.Core.Model;

/// <summary>One occurrence of a schedule (seed 000's Schedule Response). One per (schedule, due time).</summary>
public sealed class Run
{
    public long Id { get; set; }

    public long ScheduleId { get; set; }

    public Schedule? Schedule { get; set; }

    public DateTimeOffset DueAt { get; set; }

    public RunStatus Status { get; set; } = RunStatus.Pending;

    public RunTrigger Trigger { get; set; } = RunTrigger.Scheduled;

    /// <summary>For a CONTINUATION run, the finished run that started it (no foreign key: retention may delete the parent first).</summary>
    public long? ParentRunId { get; set; }

    public int AttemptCount { get; set; }

    /// <summary>When the first attempt started its call.</summary>
    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>Duration of the last attempt's call.</summary>
    public double? LatencyMs { get; set; }

    /// <summary>First call start minus due time: how late the run started (never negative).</summary>
    public double? LatenessMs { get; set; }

    public int? StatusCode { get; set; }

    public long? ResponseSizeBytes { get; set; }

    /// <summary>The first bytes of the response body (10 KB by default), as text.</summary>
    public string? ResponseExcerpt { get; set; }

    public ErrorType? ErrorType { get; set; }

    public string? ErrorMessage { get; set; }

    public string? StackTrace { get; set; }

    /// <summary>Notes written by recoveries and reconciliation, oldest first.</summary>
    public List<string> Remarks { get; set; } = [];

    /// <summary>The Hangfire job that executes the run (the latest one, after a retry).</summary>
    public string? HangfireJobId { get; set; }

    /// <summary>The worker holding the run while it is RUNNING.</summary>
    public string? LeaseOwner { get; set; }

    public DateTimeOffset? LeaseExpiresAt { get; set; }

    /// <summary>When the next attempt is due, while a retry is scheduled.</summary>
    public DateTimeOffset? NextAttemptAt { get; set; }

    public DeliveryStatus? CallbackStatus { get; set; }

    /// <summary>Someone asked for another attempt (POST /runs/{id}/retry, or a requeue in the dashboard); the next attempt is recorded as manual.</summary>
    public bool RetryRequested { get; set; }

    /// <summary>The call's turn under its target's rate limit, reserved while the run waited in Hangfire's scheduled set.</summary>
    public DateTimeOffset? LimitTurnAt { get; set; }

    /// <summary>Since when the run has been waiting for its target's limits, while it waits in Hangfire's scheduled set.</summary>
    public DateTimeOffset? LimitWaitSince { get; set; }

    /// <summary>
    /// The W3C <c>traceparent</c> the run's attempts continue (docs/observability.md): the API request's span for a run
    /// a request made (IMMEDIATE, trigger), else the span the dispatcher opened for it. Its trace id is the run's <c>trace_id</c>.
    /// </summary>
    public string? TraceParent { get; set; }

    /// <summary>While WAITING: when the accepted call times out unless completed or extended by a heartbeat.</summary>
    public DateTimeOffset? CompletionDeadlineAt { get; set; }

    /// <summary>The outcome a target reported (SUCCESS or FAILED) for the WAITING attempt, until a worker records it.</summary>
    public RunStatus? CompletionStatus { get; set; }

    /// <summary>The message of the target's completion.</summary>
    public string? CompletionMessage { get; set; }

    /// <summary>The <c>output</c> of the target's completion (JSON, bounded by <see cref="CompletionLimits.MaxOutputBytes"/>).</summary>
    public string? Output { get; set; }

    public List<Attempt> Attempts { get; set; } = [];

    public List<CallbackDelivery> CallbackDeliveries { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
