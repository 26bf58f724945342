using System.Globalization;

namespace Scheduler.Core.Jobs;

/// <summary>
/// The PostgreSQL notification channel that wakes the dispatchers when schedules change, so a new or
/// resumed schedule is seen at once instead of at the next idle poll. The payload is the schedule's next
/// due time (Unix milliseconds): a dispatcher already awake before then need not look again.
/// </summary>
public static class DispatchSignal
{
    public const string Channel = "scheduler_dispatch";

    /// <summary>SQL (one text parameter, the payload) that sends the signal.</summary>
    public const string NotifySql = "SELECT pg_notify('" + Channel + "', {0})";

    /// <summary>The same, as an Npgsql command with one positional text parameter.</summary>
    public const string NotifyCommand = "SELECT pg_notify('" + Channel + "', $1)";

    public static string Payload(DateTimeOffset nextRunAt) =>
        nextRunAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>The due time a payload announces; null (look now) when it has none.</summary>
    public static DateTimeOffset? DueOf(string? payload) =>
        long.TryParse(payload, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
}
