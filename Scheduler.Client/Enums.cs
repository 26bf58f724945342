using System.Runtime.Serialization;
using System.Text.Json.Serialization;

namespace Scheduler.Client;

// Every member carries its wire spelling (EnumMember): the JSON converter and Refit's query formatter both
// read it, so a value reads and writes exactly as the API spells it, on .NET 8 as on .NET 10.

/// <summary>When a schedule fires (<c>schedule_type</c>).</summary>
[JsonConverter(typeof(WireEnumConverter<ScheduleType>))]
public enum ScheduleType
{
    /// <summary>Once, as soon as possible.</summary>
    [EnumMember(Value = "IMMEDIATE")] Immediate,
    /// <summary>Once, at <c>run_at</c>.</summary>
    [EnumMember(Value = "ONCE")] Once,
    /// <summary>Every <c>interval_seconds</c>, forever.</summary>
    [EnumMember(Value = "INTERVAL")] Interval,
    /// <summary>Every <c>interval_seconds</c> until the window closes, then STOPPED.</summary>
    [EnumMember(Value = "WINDOW")] Window,
    /// <summary>On a cron expression in a time zone.</summary>
    [EnumMember(Value = "CRON")] Cron,
}

/// <summary>The state of a schedule.</summary>
[JsonConverter(typeof(WireEnumConverter<ScheduleStatus>))]
public enum ScheduleStatus
{
    /// <summary>Runs on its cadence.</summary>
    [EnumMember(Value = "ACTIVE")] Active,
    /// <summary>Paused by hand; resumes from its next occurrence after the resume.</summary>
    [EnumMember(Value = "PAUSED")] Paused,
    /// <summary>A WINDOW schedule whose window has closed, or a CRON schedule past its end.</summary>
    [EnumMember(Value = "STOPPED")] Stopped,
    /// <summary>A one-shot schedule (IMMEDIATE or ONCE) whose run has ended.</summary>
    [EnumMember(Value = "COMPLETED")] Completed,
}

/// <summary>The state of one run. Everything after <see cref="Running"/> is final.</summary>
[JsonConverter(typeof(WireEnumConverter<RunStatus>))]
public enum RunStatus
{
    /// <summary>Waiting for its due time or a worker (also while retries are pending).</summary>
    [EnumMember(Value = "PENDING")] Pending,
    /// <summary>A worker is calling the target.</summary>
    [EnumMember(Value = "RUNNING")] Running,
    /// <summary>A <c>"completion": "callback"</c> target accepted the call; it completes the run later (POST /runs/{id}/complete).</summary>
    [EnumMember(Value = "WAITING")] Waiting,
    /// <summary>The call answered with an expected status.</summary>
    [EnumMember(Value = "SUCCESS")] Success,
    /// <summary>The last attempt failed (see <c>error_type</c>).</summary>
    [EnumMember(Value = "FAILED")] Failed,
    /// <summary>The last attempt timed out.</summary>
    [EnumMember(Value = "TIMEOUT")] Timeout,
    /// <summary>The target's host name did not resolve.</summary>
    [EnumMember(Value = "DNS_ERROR")] DnsError,
    /// <summary>The target could not be reached.</summary>
    [EnumMember(Value = "CONNECTION_ERROR")] ConnectionError,
    /// <summary>Not run (overlap policy, catch-up policy or max delay).</summary>
    [EnumMember(Value = "SKIPPED")] Skipped,
    /// <summary>Cancelled before it ran (its schedule was deleted or paused).</summary>
    [EnumMember(Value = "CANCELLED")] Cancelled,
}

/// <summary>The state of one attempt of a run.</summary>
[JsonConverter(typeof(WireEnumConverter<AttemptStatus>))]
public enum AttemptStatus
{
    /// <summary>The call is under way.</summary>
    [EnumMember(Value = "RUNNING")] Running,
    /// <summary>Accepted by a callback target; ends with its completion or <c>completion_timeout</c>.</summary>
    [EnumMember(Value = "WAITING")] Waiting,
    /// <summary>The call answered with an expected status.</summary>
    [EnumMember(Value = "SUCCESS")] Success,
    /// <summary>The call failed.</summary>
    [EnumMember(Value = "FAILED")] Failed,
    /// <summary>The call timed out.</summary>
    [EnumMember(Value = "TIMEOUT")] Timeout,
    /// <summary>The host name did not resolve.</summary>
    [EnumMember(Value = "DNS_ERROR")] DnsError,
    /// <summary>The target could not be reached.</summary>
    [EnumMember(Value = "CONNECTION_ERROR")] ConnectionError,
    /// <summary>The worker making the attempt died or lost its lease mid-call.</summary>
    [EnumMember(Value = "LOST")] Lost,
    /// <summary>The worker was shutting down and handed the run back.</summary>
    [EnumMember(Value = "INTERRUPTED")] Interrupted,
}

/// <summary>Why an attempt did not succeed (<c>error_type</c>).</summary>
[JsonConverter(typeof(WireEnumConverter<ErrorType>))]
public enum ErrorType
{
    /// <summary>The target answered 4xx.</summary>
    [EnumMember(Value = "http_4xx")] Http4xx,
    /// <summary>The target answered 5xx.</summary>
    [EnumMember(Value = "http_5xx")] Http5xx,
    /// <summary>The call took longer than the target's timeout.</summary>
    [EnumMember(Value = "timeout")] Timeout,
    /// <summary>The host name did not resolve.</summary>
    [EnumMember(Value = "dns")] Dns,
    /// <summary>The connection failed.</summary>
    [EnumMember(Value = "connection")] Connection,
    /// <summary>The TLS handshake failed.</summary>
    [EnumMember(Value = "tls")] Tls,
    /// <summary>The address is not allowed (outbound network policy).</summary>
    [EnumMember(Value = "blocked")] Blocked,
    /// <summary>The target answered a status that is not in <c>expected_http_status</c>.</summary>
    [EnumMember(Value = "unexpected_status")] UnexpectedStatus,
    /// <summary>The worker was lost mid-call.</summary>
    [EnumMember(Value = "worker_lost")] WorkerLost,
    /// <summary>A named job threw.</summary>
    [EnumMember(Value = "job_failed")] JobFailed,
    /// <summary>An error inside Scheduler.</summary>
    [EnumMember(Value = "internal")] Internal,
    /// <summary>A callback target accepted the call and later reported failure.</summary>
    [EnumMember(Value = "completion_failed")] CompletionFailed,
    /// <summary>A callback target accepted the call and sent no completion within <c>completion_timeout_seconds</c>.</summary>
    [EnumMember(Value = "completion_timeout")] CompletionTimeout,
}

/// <summary>When a call to a target is over.</summary>
[JsonConverter(typeof(WireEnumConverter<CompletionMode>))]
public enum CompletionMode
{
    /// <summary>With the response (the default).</summary>
    [EnumMember(Value = "response")] Response,
    /// <summary>A 2xx only accepts the call (the run is WAITING); the target completes the run later.</summary>
    [EnumMember(Value = "callback")] Callback,
}

/// <summary>Which finished runs of a schedule start one of its continuations.</summary>
[JsonConverter(typeof(WireEnumConverter<ContinuationWhen>))]
public enum ContinuationWhen
{
    /// <summary>The run ended SUCCESS.</summary>
    [EnumMember(Value = "success")] Success,
    /// <summary>The run ended unsuccessfully with no retry left (FAILED, TIMEOUT, DNS_ERROR, CONNECTION_ERROR).</summary>
    [EnumMember(Value = "failure")] Failure,
    /// <summary>Either.</summary>
    [EnumMember(Value = "any")] Any,
}

/// <summary>What made a run exist.</summary>
[JsonConverter(typeof(WireEnumConverter<RunTrigger>))]
public enum RunTrigger
{
    /// <summary>Its schedule's cadence (or the due time of a ONCE schedule).</summary>
    [EnumMember(Value = "SCHEDULED")] Scheduled,
    /// <summary>An IMMEDIATE schedule.</summary>
    [EnumMember(Value = "IMMEDIATE")] Immediate,
    /// <summary>Triggered by hand (<c>POST /schedules/{id}/trigger</c>).</summary>
    [EnumMember(Value = "MANUAL")] Manual,
    /// <summary>Created by catch-up after downtime.</summary>
    [EnumMember(Value = "CATCH_UP")] CatchUp,
    /// <summary>Started by a finished run of another schedule (that schedule's <c>continuations</c>); <see cref="Run.ParentRunId"/> names it.</summary>
    [EnumMember(Value = "CONTINUATION")] Continuation,
}

/// <summary>Whether a recurring schedule may start a run while the previous one is still going.</summary>
[JsonConverter(typeof(WireEnumConverter<OverlapPolicy>))]
public enum OverlapPolicy
{
    /// <summary>The new run is SKIPPED (the default).</summary>
    [EnumMember(Value = "SKIP")] Skip,
    /// <summary>Runs may overlap.</summary>
    [EnumMember(Value = "ALLOW")] Allow,
    /// <summary>One run waits for the running one; more are skipped.</summary>
    [EnumMember(Value = "BUFFER_ONE")] BufferOne,
}

/// <summary>What a recurring schedule does with occurrences missed while nothing ran.</summary>
[JsonConverter(typeof(WireEnumConverter<CatchUpPolicy>))]
public enum CatchUpPolicy
{
    /// <summary>One run for all that were missed (the default).</summary>
    [EnumMember(Value = "ONE")] One,
    /// <summary>Every missed occurrence runs.</summary>
    [EnumMember(Value = "ALL")] All,
    /// <summary>Missed occurrences are skipped.</summary>
    [EnumMember(Value = "NONE")] None,
}

/// <summary>Which callback a delivery is.</summary>
[JsonConverter(typeof(WireEnumConverter<DeliveryKind>))]
public enum DeliveryKind
{
    /// <summary>To <c>callback_url</c>.</summary>
    [EnumMember(Value = "SUCCESS")] Success,
    /// <summary>To <c>error_callback_url</c>.</summary>
    [EnumMember(Value = "ERROR")] Error,
}

/// <summary>The state of a callback delivery.</summary>
[JsonConverter(typeof(WireEnumConverter<DeliveryStatus>))]
public enum DeliveryStatus
{
    /// <summary>Not delivered yet (attempts may follow).</summary>
    [EnumMember(Value = "PENDING")] Pending,
    /// <summary>The receiver answered 2xx.</summary>
    [EnumMember(Value = "DELIVERED")] Delivered,
    /// <summary>Every attempt failed.</summary>
    [EnumMember(Value = "FAILED")] Failed,
}
