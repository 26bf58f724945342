using System.Diagnostics;
using System.Security.Cryptography;
using OpenTelemetry;

namespace Scheduler.Core.Observability;

/// <summary>
/// The warm-ups' spans: made as every other span is, so that a warm-up compiles the path a request's or a run's spans
/// take, and never exported. A span started inside <see cref="Begin"/> gets this process's warm-up mark in its W3C trace
/// state, which its children inherit and its outbound calls send on (the API's requests to itself are marked on the
/// server's side too); <see cref="Processor"/> clears the recorded flag of a marked span as it ends, before any exporter
/// sees it (exporters take recorded spans only). The mark holds 16 random bytes drawn for the process: no one else can
/// send it, so no client's request can hide its spans this way.
/// </summary>
public static class WarmUpTraces
{
    private static readonly AsyncLocal<bool> Active = new();

    /// <summary>This process's trace-state entry for the warm-up's spans.</summary>
    public static readonly string Mark = "scheduler-warm-up=" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>Spans started from here on, in this flow and the tasks it starts, are the warm-up's, until the scope is disposed.</summary>
    public static Scope Begin()
    {
        var was = Active.Value;
        Active.Value = true;
        return new Scope(was);
    }

    /// <summary>Whether <paramref name="span"/> is one of the warm-up's (its own mark, or its parent's).</summary>
    public static bool IsMarked(Activity span) =>
        span?.TraceStateString is { } state && state.Contains(Mark, StringComparison.Ordinal);

    /// <summary>Makes <paramref name="span"/> one of the warm-up's (its trace state keeps what else it carries), and so its children.</summary>
    public static void Include(Activity span)
    {
        ArgumentNullException.ThrowIfNull(span);
        if (!IsMarked(span))
        {
            span.TraceStateString = span.TraceStateString is { Length: > 0 } state ? $"{Mark},{state}" : Mark;
        }
    }

    /// <summary>Ends a <see cref="Begin"/>: the flow is as it was before.</summary>
    public readonly struct Scope(bool was) : IDisposable
    {
        public void Dispose() => Active.Value = was;
    }

    /// <summary>Marks the spans started inside <see cref="Begin"/>, and keeps every marked span from the exporters.</summary>
    public sealed class Processor : BaseProcessor<Activity>
    {
        public override void OnStart(Activity data)
        {
            ArgumentNullException.ThrowIfNull(data);
            if (Active.Value)
            {
                Include(data);
            }
        }

        public override void OnEnd(Activity data)
        {
            ArgumentNullException.ThrowIfNull(data);
            if (IsMarked(data))
            {
                data.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            }
        }
    }
}
