using System.Diagnostics;
using System.Globalization;
using Scheduler.Core.Observability;

namespace Scheduler.Core.Scheduling;

/// <summary>
/// The span a dispatched run's trace begins with: each new PENDING run of a recurring (or ONCE) schedule starts a
/// trace of its own, linked to the request that created its schedule, and the run keeps this span's context
/// (<c>trace_parent</c>, carried in the dispatcher's insert: no statement of its own), so its attempts and callbacks
/// are its children. A span lasts the dispatch transaction.
/// </summary>
internal sealed class DispatchedRunSpans : IDisposable
{
    public const string Name = "run dispatch";

    private readonly Dictionary<(long ScheduleId, DateTimeOffset DueAt), Activity> _spans = [];

    public DispatchedRunSpans(IEnumerable<(Schedule Schedule, PlannedRun Run)> runs)
    {
        foreach (var (schedule, run) in runs)
        {
            if (run.Status != RunStatus.Pending
                || SchedulerTracing.StartRoot(Name, ActivityKind.Producer, SchedulerTracing.Parse(schedule.TraceParent)) is not { } span)
            {
                continue;
            }
            span.SetTag("scheduler.schedule_id", schedule.Id);
            span.SetTag("scheduler.due_at", run.DueAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            _spans[(schedule.Id, run.DueAt)] = span;
        }
    }

    /// <summary>The context a run keeps: null without a span (a SKIPPED run; tracing sampled out).</summary>
    public string? TraceParentOf(long scheduleId, DateTimeOffset dueAt) => _spans.GetValueOrDefault((scheduleId, dueAt))?.Id;

    /// <summary>Names the run a span is for, once the insert has given it its id.</summary>
    public void Created(long runId, long scheduleId, DateTimeOffset dueAt) =>
        _spans.GetValueOrDefault((scheduleId, dueAt))?.SetTag("scheduler.run_id", runId);

    public void Dispose()
    {
        foreach (var span in _spans.Values)
        {
            span.Dispose();
        }
    }
}
