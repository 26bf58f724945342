using System.Diagnostics;

namespace Scheduler.Core.Observability;

/// <summary>
/// The <c>Scheduler</c> ActivitySource, for the spans Scheduler opens itself (a run dispatched, an attempt, a callback
/// delivery; ASP.NET Core and HttpClient open the request's and the outbound call's), and the W3C trace context a run
/// and a schedule keep, so the worker continues the trace the API began (docs/observability.md).
/// </summary>
public static class SchedulerTracing
{
    public const string SourceName = "Scheduler";

    // One source for the process, as ActivitySource is meant to be used: its listeners are the tracer provider's.
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>The current span as a W3C <c>traceparent</c>, to be stored; null without one (no request, tracing sampled out).</summary>
    public static string? CurrentTraceParent() => Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.Id : null;

    /// <summary>A stored <c>traceparent</c> as a (remote) parent or link; null when there is none or it does not parse.</summary>
    public static ActivityContext? Parse(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context) ? context : null;

    /// <summary>The 32 hex digits of a stored <c>traceparent</c>'s trace id (a run's <c>trace_id</c>).</summary>
    public static string? TraceIdOf(string? traceParent) => Parse(traceParent)?.TraceId.ToHexString();

    /// <summary>
    /// Starts a span that begins a trace of its own whatever span is current, linked to <paramref name="link"/>, and
    /// leaves the current span as it was (spans started one after another this way are not each other's children).
    /// </summary>
    public static Activity? StartRoot(string name, ActivityKind kind, ActivityContext? link)
    {
        var current = Activity.Current;
        Activity.Current = null;
        try
        {
            return Source.StartActivity(name, kind, default(ActivityContext), links: link is { } context ? [new ActivityLink(context)] : null);
        }
        finally
        {
            Activity.Current = current;
        }
    }

    /// <summary>
    /// Starts a span continuing <paramref name="parent"/> (a stored <c>traceparent</c>); without one, a trace of its own
    /// linked to <paramref name="link"/>. The span becomes the current one.
    /// </summary>
    public static Activity? StartContinuing(string name, ActivityKind kind, string? parent, string? link)
    {
        if (Parse(parent) is { } context)
        {
            return Source.StartActivity(name, kind, context);
        }
        Activity.Current = null;
        return Source.StartActivity(name, kind, default(ActivityContext), links: Parse(link) is { } linked ? [new ActivityLink(linked)] : null);
    }
}
