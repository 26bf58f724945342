using System.Globalization;
using Scheduler.Core.Hosting;

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

    /// <summary>
    /// How far ahead an occurrence still needs the signal. Every dispatcher looks on its own at least every
    /// <see cref="SchedulingOptions.LongestMaxIdle"/> (whatever its configuration) and then takes, or plans a wake-up
    /// for, what is due within its lead time: an occurrence due later than that, with a minute to spare for a slow
    /// look, is found in time without a signal. Measured: a signal costs PostgreSQL and every worker's dispatcher
    /// about as much CPU as the create it announces (docs/performance.md), and most far-off schedules (ONCE a day ahead,
    /// a nightly cron) need none.
    /// </summary>
    public static readonly TimeSpan Horizon = SchedulingOptions.LongestMaxIdle + SchedulingOptions.LongestLeadTime + TimeSpan.FromMinutes(1);

    /// <summary>Whether an occurrence due at <paramref name="nextRunAt"/> needs the signal now (<see cref="Horizon"/>).</summary>
    public static bool Needed(DateTimeOffset nextRunAt, DateTimeOffset now) => nextRunAt - now <= Horizon;

    public static string Payload(DateTimeOffset nextRunAt) =>
        nextRunAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>The due time a payload announces; null (look now) when it has none.</summary>
    public static DateTimeOffset? DueOf(string? payload) =>
        long.TryParse(payload, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
}
