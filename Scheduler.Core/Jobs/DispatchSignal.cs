namespace Scheduler.Core.Jobs;

/// <summary>
/// The PostgreSQL notification channel that wakes the dispatchers when schedules change, so a new or
/// resumed schedule is seen at once instead of at the next idle poll.
/// </summary>
public static class DispatchSignal
{
    public const string Channel = "scheduler_dispatch";

    public const string NotifySql = "SELECT pg_notify('" + Channel + "', '')";
}
