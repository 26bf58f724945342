using System.Globalization;

namespace Scheduler.Core.Scheduling;

/// <summary>How the dispatcher treats due and missed occurrences.</summary>
/// <param name="Lead">Occurrences due within this time from now are dispatched now, so their runs wait in a worker and start on time.</param>
/// <param name="MisfireThreshold">An occurrence more than this overdue was missed (nothing ran it) and follows the catch-up policy.</param>
/// <param name="CatchUpWindow">With catch-up ALL, missed occurrences older than this are not run.</param>
/// <param name="MaxCatchUpRuns">With catch-up ALL, at most this many missed occurrences are run (the latest ones).</param>
public sealed record DispatchRules(TimeSpan Lead, TimeSpan MisfireThreshold, TimeSpan CatchUpWindow, int MaxCatchUpRuns);

/// <summary>A run the dispatcher will create.</summary>
public sealed record PlannedRun(DateTimeOffset DueAt, RunTrigger Trigger, RunStatus Status, string? Remark);

/// <summary>What one dispatch does to a schedule: the runs to create and the schedule's next state.</summary>
public sealed record SchedulePlan(IReadOnlyList<PlannedRun> Runs, DateTimeOffset? NextRunAt, ScheduleStatus Status, string? ScheduleRemark);

/// <summary>
/// Decides, for one schedule whose next occurrence is due, which runs to create: occurrences due now run
/// on time; missed ones (downtime) follow the catch-up policy (ONE: one run for all of them, ALL: each
/// within the window, NONE: none). Pure: the dispatcher supplies "now", so every rule is unit-tested.
/// (Overlap is decided by the run itself at its due time, when it is known whether the previous run
/// has ended.)
/// </summary>
public static class OccurrencePlanner
{
    public static SchedulePlan Plan(Schedule schedule, DateTimeOffset now, DispatchRules rules)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(rules);
        var first = schedule.NextRunAt ?? throw new InvalidOperationException($"Schedule {schedule.Id} has no next occurrence to dispatch.");
        var horizon = now + rules.Lead;
        var missedBefore = now - rules.MisfireThreshold;
        var runs = new List<PlannedRun>();
        string? scheduleRemark = null;

        if (first < missedBefore)
        {
            scheduleRemark = PlanMissed(schedule, first, now, missedBefore, rules, runs);
        }

        var next = first < missedBefore ? Occurrences.NextAtOrAfter(schedule, missedBefore) : first;
        while (next is { } due && due <= horizon)
        {
            runs.Add(new PlannedRun(due, RunTrigger.Scheduled, RunStatus.Pending, null));
            next = Occurrences.NextAfter(schedule, due);
        }

        var status = schedule.Status;
        if (next is null)
        {
            // Nothing more to dispatch: a window or a bounded cron has ended; a ONCE whose only run will
            // not execute is complete now (otherwise its worker completes it when the run ends).
            status = schedule.Type switch
            {
                ScheduleType.Once when runs.All(r => r.Status != RunStatus.Pending) => ScheduleStatus.Completed,
                ScheduleType.Once => schedule.Status,
                _ => ScheduleStatus.Stopped,
            };
        }
        return new SchedulePlan(runs, next, status, scheduleRemark);
    }

    private static string? PlanMissed(Schedule schedule, DateTimeOffset first, DateTimeOffset now, DateTimeOffset missedBefore, DispatchRules rules, List<PlannedRun> runs)
    {
        var last = Occurrences.LastBefore(schedule, first, missedBefore) ?? first;
        var span = $"between {Format(first)} and {Format(last)}";
        switch (schedule.CatchUpPolicy)
        {
            case CatchUpPolicy.One:
                runs.Add(new PlannedRun(last, RunTrigger.CatchUp, RunStatus.Pending,
                    first == last
                        ? $"Catch-up: this occurrence was missed (nothing ran it by {Format(missedBefore)}); run once now (catch-up ONE)."
                        : $"Catch-up: the occurrences missed {span} were coalesced into this one run (catch-up ONE)."));
                return null;
            case CatchUpPolicy.All:
                var windowStart = now - rules.CatchUpWindow;
                var missed = new List<DateTimeOffset>();
                for (var t = Occurrences.NextAtOrAfter(schedule, first > windowStart ? first : windowStart); t is { } due && due < missedBefore; t = Occurrences.NextAfter(schedule, due))
                {
                    missed.Add(due);
                    if (missed.Count > rules.MaxCatchUpRuns)
                    {
                        missed.RemoveAt(0);
                    }
                }
                foreach (var due in missed)
                {
                    runs.Add(new PlannedRun(due, RunTrigger.CatchUp, RunStatus.Pending, "Catch-up: this occurrence was missed and is run late (catch-up ALL)."));
                }
                return missed.Count > 0 && missed[0] == first
                    ? null
                    : $"Catch-up ALL ran {missed.Count} missed occurrence(s); earlier ones {span} were outside the catch-up window ({rules.CatchUpWindow:c}) or over the limit ({rules.MaxCatchUpRuns}) and were not run.";
            default:
                if (schedule.Type == ScheduleType.Once)
                {
                    runs.Add(new PlannedRun(first, RunTrigger.CatchUp, RunStatus.Skipped, "Skipped: this occurrence was missed and catch-up is NONE."));
                    return null;
                }
                return $"Skipped the occurrences missed {span} (catch-up NONE).";
        }
    }

    private static string Format(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
