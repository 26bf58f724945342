namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// Settings for tests that kill workers: an 8 s lease and Hangfire invisibility (defaults 30 s), so a
/// dead worker's runs come back within seconds, and the recurring reconciliation off (tests call it).
/// </summary>
public static class ShortLease
{
    public static Dictionary<string, string> Settings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string>
        {
            ["Hangfire__InvisibilityTimeout"] = "00:00:08",
            ["Hangfire__QueuePollInterval"] = "00:00:01",
            ["Execution__LeaseSeconds"] = LeaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Execution__LeaseRenewalSeconds"] = "2",
            ["Reconciliation__Cron"] = "",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }
        return settings;
    }

    public const int LeaseSeconds = 8;
}
