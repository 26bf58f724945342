using Scheduler.Core.Scheduling;

namespace Scheduler.Core.Hosting;

/// <summary>How recurring schedules are dispatched (section <c>Scheduling</c>).</summary>
public sealed class SchedulingOptions
{
    public const string Section = "Scheduling";

    /// <summary>
    /// Occurrences due within this time are dispatched ahead: their runs are created and queued, and a
    /// worker holds each until its due time, so the call starts on the millisecond. 1.5 s: on a machine whose
    /// cores are all busy (schedules created in bulk while the first ones fire), each step before the call
    /// (dispatch, hand-off to Hangfire, fetch, claim) slowed to a few hundred milliseconds, and half a second
    /// ahead was not enough (docs/performance.md, "Lead time").
    /// </summary>
    public TimeSpan LeadTime { get; set; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>The longest <see cref="LeadTime"/> allowed.</summary>
    public static readonly TimeSpan LongestLeadTime = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How much of the lead time one dispatch covers: the dispatcher wakes when the earliest occurrence is
    /// <see cref="LeadTime"/> minus this ahead, and takes everything due within the lead time, so occurrences
    /// falling close together are dispatched (and share Hangfire jobs) together instead of one cycle each.
    /// </summary>
    public TimeSpan DispatchWindow { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The dispatcher looks again at least this often, even without a change notification.</summary>
    public TimeSpan MaxIdle { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest <see cref="MaxIdle"/> allowed: whatever a worker is configured with, its dispatcher looks at
    /// least this often, which <see cref="Jobs.DispatchSignal.Horizon"/> relies on.
    /// </summary>
    public static readonly TimeSpan LongestMaxIdle = TimeSpan.FromMinutes(10);

    /// <summary>An occurrence overdue by more than this was missed (downtime) and follows the catch-up policy.</summary>
    public TimeSpan MisfireThreshold { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>With catch-up ALL, missed occurrences older than this are not run.</summary>
    public TimeSpan CatchUpWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>With catch-up ALL, the most missed occurrences run for one schedule at once.</summary>
    public int MaxCatchUpRuns { get; set; } = 100;

    /// <summary>Schedules claimed per dispatcher transaction.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// Runs dispatched together go into Hangfire jobs of up to this many, which execute them concurrently;
    /// 1 gives every run its own job.
    /// </summary>
    public int MaxRunsPerJob { get; set; } = 200;

    /// <summary>The shortest interval a schedule may ask for.</summary>
    public int MinIntervalSeconds { get; set; } = 1;

    public DispatchRules Rules => new(LeadTime, MisfireThreshold, CatchUpWindow, MaxCatchUpRuns);
}

internal sealed class SchedulingOptionsValidator : IValidateOptions<SchedulingOptions>
{
    public ValidateOptionsResult Validate(string? name, SchedulingOptions options)
    {
        var errors = new List<string>();
        EngineOptionsValidator.Between(errors, "Scheduling:LeadTime", options.LeadTime, TimeSpan.FromMilliseconds(10), SchedulingOptions.LongestLeadTime);
        EngineOptionsValidator.Between(errors, "Scheduling:DispatchWindow", options.DispatchWindow, TimeSpan.Zero, options.LeadTime / 2);
        EngineOptionsValidator.Between(errors, "Scheduling:MaxIdle", options.MaxIdle, TimeSpan.FromMilliseconds(100), SchedulingOptions.LongestMaxIdle);
        EngineOptionsValidator.Between(errors, "Scheduling:MisfireThreshold", options.MisfireThreshold, TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1));
        EngineOptionsValidator.Between(errors, "Scheduling:CatchUpWindow", options.CatchUpWindow, TimeSpan.Zero, TimeSpan.FromDays(366));
        if (options.MaxCatchUpRuns is < 1 or > 100_000)
        {
            errors.Add($"Scheduling:MaxCatchUpRuns must be between 1 and 100000 (got {options.MaxCatchUpRuns}).");
        }
        if (options.BatchSize is < 1 or > 10_000)
        {
            errors.Add($"Scheduling:BatchSize must be between 1 and 10000 (got {options.BatchSize}).");
        }
        if (options.MaxRunsPerJob is < 1 or > 1000)
        {
            errors.Add($"Scheduling:MaxRunsPerJob must be between 1 and 1000 (got {options.MaxRunsPerJob}).");
        }
        if (options.MinIntervalSeconds is < 1 or > 86_400)
        {
            errors.Add($"Scheduling:MinIntervalSeconds must be between 1 and 86400 (got {options.MinIntervalSeconds}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
