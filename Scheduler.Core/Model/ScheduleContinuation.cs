namespace Scheduler.Core.Model;

/// <summary>
/// One of a schedule's <c>continuations</c>: when a run of <see cref="ScheduleId"/> finishes as <see cref="When"/>
/// says, <see cref="NextScheduleId"/> gets one run (trigger CONTINUATION). A schedule names another at most once.
/// </summary>
public sealed class ScheduleContinuation
{
    public long ScheduleId { get; set; }

    /// <summary>The schedule that gets the run.</summary>
    public long NextScheduleId { get; set; }

    public ContinuationWhen When { get; set; }

    /// <summary>Where it stands in the schedule's list (0-based), so the list reads back as written.</summary>
    public int Position { get; set; }

    /// <summary>
    /// When the continuation was written: reconciliation creates a missing continuation run only for runs that
    /// finished after it, so adding a continuation does not start runs for the schedule's past.
    /// </summary>
    public DateTimeOffset CreatedAt { get; set; }
}
