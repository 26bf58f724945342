using System.Text.Json.Serialization;

namespace Scheduler.Core.Model;

// Wire names (JSON and database) are the enum names in SNAKE_CASE (WireName), as seed 001 spells them,
// unless a member carries [JsonStringEnumMemberName].

/// <summary>When a schedule fires (DESIGN.md, "Schedule").</summary>
public enum ScheduleType
{
    /// <summary>Once, as soon as possible (fire-and-forget).</summary>
    Immediate,
    /// <summary>Once, at <c>run_at</c>.</summary>
    Once,
    /// <summary>Every <c>interval_seconds</c>, forever.</summary>
    Interval,
    /// <summary>Every <c>interval_seconds</c> until the window closes, then STOPPED.</summary>
    Window,
    /// <summary>On a cron expression in a time zone.</summary>
    Cron,
}

public enum ScheduleStatus
{
    Active,
    Paused,
    Stopped,
    /// <summary>A one-shot schedule (IMMEDIATE or ONCE) whose run has ended.</summary>
    Completed,
}

/// <summary>The state of one occurrence. Terminal states are everything after WAITING.</summary>
public enum RunStatus
{
    Pending,
    Running,
    /// <summary>A <c>"completion": "callback"</c> target accepted the call (2xx); the run waits for the target's completion, holding no worker.</summary>
    Waiting,
    Success,
    Failed,
    Timeout,
    DnsError,
    ConnectionError,
    Skipped,
    Cancelled,
}

public enum AttemptStatus
{
    Running,
    /// <summary>Accepted by a <c>"completion": "callback"</c> target; the attempt ends with the target's completion or its timeout.</summary>
    Waiting,
    Success,
    Failed,
    Timeout,
    DnsError,
    ConnectionError,
    /// <summary>The worker that made the attempt died or stopped renewing its lease mid-call.</summary>
    Lost,
    /// <summary>The worker was shutting down and handed the run back before the call ended.</summary>
    Interrupted,
}

/// <summary>Why an attempt did not succeed (seed 001's error classification, extended).</summary>
public enum ErrorType
{
    [JsonStringEnumMemberName("http_4xx")] Http4xx,
    [JsonStringEnumMemberName("http_5xx")] Http5xx,
    [JsonStringEnumMemberName("timeout")] Timeout,
    [JsonStringEnumMemberName("dns")] Dns,
    [JsonStringEnumMemberName("connection")] Connection,
    [JsonStringEnumMemberName("tls")] Tls,
    [JsonStringEnumMemberName("blocked")] Blocked,
    [JsonStringEnumMemberName("unexpected_status")] UnexpectedStatus,
    [JsonStringEnumMemberName("worker_lost")] WorkerLost,
    [JsonStringEnumMemberName("job_failed")] JobFailed,
    [JsonStringEnumMemberName("internal")] Internal,
    /// <summary>A target that accepted the call for completion later reported failure (POST /runs/{id}/complete).</summary>
    [JsonStringEnumMemberName("completion_failed")] CompletionFailed,
    /// <summary>A target that accepted the call sent no completion within its <c>completion_timeout_seconds</c>.</summary>
    [JsonStringEnumMemberName("completion_timeout")] CompletionTimeout,
}

/// <summary>When a call to a target is over (issue #23).</summary>
public enum CompletionMode
{
    /// <summary>With the response: the status code decides the outcome.</summary>
    [JsonStringEnumMemberName("response")] Response,
    /// <summary>A 2xx only accepts the call; the target reports the outcome later to <c>POST /runs/{id}/complete</c>.</summary>
    [JsonStringEnumMemberName("callback")] Callback,
}

/// <summary>What made a run exist.</summary>
public enum RunTrigger
{
    /// <summary>Its schedule's cadence (or the single due time of a ONCE schedule).</summary>
    Scheduled,
    /// <summary>An IMMEDIATE schedule.</summary>
    Immediate,
    /// <summary>Triggered by hand, outside the cadence.</summary>
    Manual,
    /// <summary>Created by catch-up after downtime.</summary>
    CatchUp,
    /// <summary>Started by a finished run of another schedule (its <c>continuations</c>); the run's <c>parent_run_id</c> names it.</summary>
    Continuation,
}

/// <summary>Which finished runs of a schedule start a continuation (lower case on the wire, as the issue spells them).</summary>
public enum ContinuationWhen
{
    /// <summary>The run ended SUCCESS.</summary>
    [JsonStringEnumMemberName("success")] Success,
    /// <summary>The run ended unsuccessfully for good: FAILED, TIMEOUT, DNS_ERROR or CONNECTION_ERROR with no retry left.</summary>
    [JsonStringEnumMemberName("failure")] Failure,
    /// <summary>Either.</summary>
    [JsonStringEnumMemberName("any")] Any,
}

/// <summary>Whether a recurring schedule may start an occurrence while the previous one still runs.</summary>
public enum OverlapPolicy
{
    Skip,
    Allow,
    BufferOne,
}

/// <summary>What a recurring schedule does with occurrences missed while nothing ran.</summary>
public enum CatchUpPolicy
{
    One,
    All,
    None,
}

public enum DeliveryKind
{
    Success,
    Error,
}

public enum DeliveryStatus
{
    Pending,
    Delivered,
    Failed,
}

public static class RunStatusExtensions
{
    public static bool IsTerminal(this RunStatus status) => status is not (RunStatus.Pending or RunStatus.Running or RunStatus.Waiting);

    /// <summary>
    /// Ended without success: what the dashboard's Failed page, requeue and redrive are about. SKIPPED and
    /// CANCELLED ended by decision, not by failing, so they are not among them.
    /// </summary>
    public static bool IsUnsuccessful(this RunStatus status) => Unsuccessful.Contains(status);

    /// <summary>The states <see cref="IsUnsuccessful"/> is true of.</summary>
    public static readonly IReadOnlyList<RunStatus> Unsuccessful = [RunStatus.Failed, RunStatus.Timeout, RunStatus.DnsError, RunStatus.ConnectionError];
}
