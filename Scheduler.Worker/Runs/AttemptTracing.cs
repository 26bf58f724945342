using System.Collections;
using System.Diagnostics;
using System.Globalization;
using Scheduler.Core.Observability;

namespace Scheduler.Worker.Runs;

/// <summary>
/// An attempt's span and log scope. The span continues the run's stored trace context (the API request's span for a
/// run a request made, the dispatcher's for a scheduled one), so the call's own span (HttpClient) and the
/// <c>traceparent</c> the target receives are in the run's trace; a run without one starts a trace linked to its
/// schedule's creation. The scope puts <c>RunId</c>, <c>ScheduleId</c> and <c>Attempt</c> on every log line written
/// meanwhile (the trace and span ids come with the span).
/// </summary>
internal sealed class AttemptTracing(ILogger<RunExecution> logger)
{
    public const string SpanName = "run attempt";

    public AttemptTrace Start(RunPlan plan, RunClaim claim)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(claim);
        var span = SchedulerTracing.StartContinuing(SpanName, ActivityKind.Consumer, plan.TraceParent, plan.ScheduleTraceParent);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("scheduler.run_id", plan.RunId);
            span.SetTag("scheduler.schedule_id", plan.ScheduleId);
            span.SetTag("scheduler.attempt", claim.AttemptNumber);
        }
        return new AttemptTrace(span, logger.BeginScope(new AttemptScope(plan.RunId, plan.ScheduleId, claim.AttemptNumber)));
    }
}

/// <summary>One attempt's span and scope, ended together.</summary>
internal sealed class AttemptTrace(Activity? span, IDisposable? scope) : IDisposable
{
    /// <summary>What the attempt came to, on its span.</summary>
    public void Record(CallOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (span is not { IsAllDataRequested: true })
        {
            return;
        }
        span.SetTag("scheduler.status", WireName.Of(outcome.Status));
        if (outcome.ErrorType is { } errorType)
        {
            span.SetTag("error.type", WireName.Of(errorType));
        }
        if (outcome.Status != RunStatus.Success)
        {
            span.SetStatus(ActivityStatusCode.Error, outcome.ErrorMessage);
        }
    }

    public void Dispose()
    {
        scope?.Dispose();
        span?.Dispose();
    }
}

/// <summary>The log scope's properties, as a list so every logging provider reads them as named values.</summary>
internal sealed class AttemptScope(long runId, long scheduleId, int attempt) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 3;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("RunId", runId),
        1 => new("ScheduleId", scheduleId),
        2 => new("Attempt", attempt),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"Run {runId} attempt {attempt}");
}
