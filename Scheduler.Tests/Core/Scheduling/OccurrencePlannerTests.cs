using Scheduler.Core.Model;
using Scheduler.Core.Scheduling;

namespace Scheduler.Tests.Core.Scheduling;

public sealed class OccurrencePlannerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private static readonly DispatchRules Rules = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(1), 10);

    private static Schedule EverySecond(CatchUpPolicy catchUp = CatchUpPolicy.One, OverlapPolicy overlap = OverlapPolicy.Skip, DateTimeOffset? end = null) => new()
    {
        Id = 7,
        Type = end is null ? ScheduleType.Interval : ScheduleType.Window,
        IntervalSeconds = 1,
        StartAt = T0,
        EndAt = end,
        NextRunAt = T0,
        CatchUpPolicy = catchUp,
        OverlapPolicy = overlap,
    };

    [Test]
    public void An_occurrence_due_within_the_lead_is_dispatched_on_time_and_the_next_is_set()
    {
        var plan = OccurrencePlanner.Plan(EverySecond(), T0.AddMilliseconds(-400), Rules);
        Assert.That(plan.Runs, Is.EqualTo(new[] { new PlannedRun(T0, RunTrigger.Scheduled, RunStatus.Pending, null) }));
        Assert.That(plan.NextRunAt, Is.EqualTo(T0.AddSeconds(1)));
        Assert.That(plan.Status, Is.EqualTo(ScheduleStatus.Active));
    }

    [Test]
    public void After_downtime_catch_up_one_runs_the_missed_occurrences_once()
    {
        var plan = OccurrencePlanner.Plan(EverySecond(), T0.AddSeconds(60.2), Rules);
        Assert.That(plan.Runs[0].Trigger, Is.EqualTo(RunTrigger.CatchUp));
        Assert.That(plan.Runs[0].DueAt, Is.EqualTo(T0.AddSeconds(55)), "the latest missed occurrence");
        Assert.That(plan.Runs[0].Remark, Does.Contain("coalesced"));
        // Occurrences within the misfire threshold are not missed: they run as scheduled.
        Assert.That(plan.Runs.Skip(1).Select(r => r.DueAt), Is.EqualTo(Enumerable.Range(56, 5).Select(s => T0.AddSeconds(s))));
        Assert.That(plan.Runs.Skip(1).Select(r => r.Trigger), Is.All.EqualTo(RunTrigger.Scheduled));
        Assert.That(plan.NextRunAt, Is.EqualTo(T0.AddSeconds(61)));
    }

    [Test]
    public void Catch_up_all_runs_each_missed_occurrence_within_the_window_and_the_limit()
    {
        var plan = OccurrencePlanner.Plan(EverySecond(CatchUpPolicy.All), T0.AddSeconds(600), Rules);
        var catchUp = plan.Runs.Where(r => r.Trigger == RunTrigger.CatchUp).Select(r => r.DueAt).ToList();
        Assert.That(catchUp, Is.EqualTo(Enumerable.Range(585, 10).Select(s => T0.AddSeconds(s))), "the latest 10 missed");
        Assert.That(plan.ScheduleRemark, Does.Contain("not run"));
    }

    [Test]
    public void Catch_up_none_skips_missed_occurrences_and_says_so_on_the_schedule()
    {
        var plan = OccurrencePlanner.Plan(EverySecond(CatchUpPolicy.None), T0.AddSeconds(60.2), Rules);
        Assert.That(plan.Runs.Select(r => r.Trigger), Is.All.EqualTo(RunTrigger.Scheduled));
        Assert.That(plan.Runs[0].DueAt, Is.EqualTo(T0.AddSeconds(56)));
        Assert.That(plan.ScheduleRemark, Does.Contain("Skipped the occurrences missed between 2026-11-23T12:00:00.000Z and 2026-11-23T12:00:55.000Z"));
    }

    [Test]
    public void A_window_stops_after_its_last_occurrence()
    {
        var schedule = EverySecond(end: T0.AddSeconds(3));
        schedule.NextRunAt = T0.AddSeconds(2);
        var plan = OccurrencePlanner.Plan(schedule, T0.AddSeconds(1.8), Rules);
        Assert.That(plan.Runs.Select(r => r.DueAt), Is.EqualTo(new[] { T0.AddSeconds(2) }));
        Assert.That(plan.NextRunAt, Is.Null);
        Assert.That(plan.Status, Is.EqualTo(ScheduleStatus.Stopped));
    }

    [Test]
    public void A_missed_once_schedule_runs_once_or_is_skipped_by_catch_up_none()
    {
        var once = new Schedule { Id = 3, Type = ScheduleType.Once, RunAt = T0, NextRunAt = T0 };
        var late = OccurrencePlanner.Plan(once, T0.AddMinutes(10), Rules);
        Assert.That(late.Runs, Has.Count.EqualTo(1));
        Assert.That((late.Runs[0].DueAt, late.Runs[0].Trigger, late.Runs[0].Status), Is.EqualTo((T0, RunTrigger.CatchUp, RunStatus.Pending)));
        Assert.That((late.NextRunAt, late.Status), Is.EqualTo(((DateTimeOffset?)null, ScheduleStatus.Active)));

        once.CatchUpPolicy = CatchUpPolicy.None;
        var skipped = OccurrencePlanner.Plan(once, T0.AddMinutes(10), Rules);
        Assert.That(skipped.Runs[0].Status, Is.EqualTo(RunStatus.Skipped));
        Assert.That(skipped.Status, Is.EqualTo(ScheduleStatus.Completed));
    }
}
