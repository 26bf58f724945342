namespace Scheduler.Core.Hosting;

/// <summary>The reconciliation job (section <c>Reconciliation</c>).</summary>
public sealed class ReconciliationOptions
{
    public const string Section = "Reconciliation";

    /// <summary>When the recurring job runs (Hangfire cron, UTC); empty turns it off (POST /reconcile still works).</summary>
    public string Cron { get; set; } = "* * * * *";

    /// <summary>A PENDING run this long past its time whose job is missing or finished was lost; it is queued again.</summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A PENDING run this long past its time is not progressing even though its job exists; it is queued again.</summary>
    public TimeSpan StuckAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>A RUNNING run whose lease expired this long ago has a dead worker and no job coming back for it.</summary>
    public TimeSpan LeaseGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>An active schedule this overdue has no dispatcher taking it; reconciliation dispatches it.</summary>
    public TimeSpan ScheduleBehind { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How far back (by due time) a pass looks for finished runs missing a continuation run. Each pass reads the
    /// runs of schedules with continuations due within it.
    /// </summary>
    public TimeSpan ContinuationLookBack { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The most items of each kind looked at in one pass.</summary>
    public int Limit { get; set; } = 1000;
}

internal sealed class ReconciliationOptionsValidator : IValidateOptions<ReconciliationOptions>
{
    public ValidateOptionsResult Validate(string? name, ReconciliationOptions options)
    {
        var errors = new List<string>();
        EngineOptionsValidator.Between(errors, "Reconciliation:Grace", options.Grace, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        EngineOptionsValidator.Between(errors, "Reconciliation:StuckAfter", options.StuckAfter, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        EngineOptionsValidator.Between(errors, "Reconciliation:LeaseGrace", options.LeaseGrace, TimeSpan.Zero, TimeSpan.FromHours(1));
        EngineOptionsValidator.Between(errors, "Reconciliation:ScheduleBehind", options.ScheduleBehind, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        EngineOptionsValidator.Between(errors, "Reconciliation:ContinuationLookBack", options.ContinuationLookBack, TimeSpan.FromMinutes(1), TimeSpan.FromDays(30));
        if (options.Limit is < 1 or > 100_000)
        {
            errors.Add($"Reconciliation:Limit must be between 1 and 100000 (got {options.Limit}).");
        }
        if (!string.IsNullOrWhiteSpace(options.Cron) && !IsCron(options.Cron))
        {
            errors.Add($"Reconciliation:Cron '{options.Cron}' is not a cron expression (5 fields, or 6 with seconds first).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Hangfire accepts 5-field cron and 6-field cron with seconds.</summary>
    private static bool IsCron(string cron)
    {
        var format = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6 ? Cronos.CronFormat.IncludeSeconds : Cronos.CronFormat.Standard;
        return Cronos.CronExpression.TryParse(cron, format, out _);
    }
}
