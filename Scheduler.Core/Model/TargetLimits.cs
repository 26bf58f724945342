namespace Scheduler.Core.Model;

/// <summary>The bounds of a target's limits, the same for the API, the host defaults and the worker.</summary>
public static class TargetLimitBounds
{
    /// <summary>One call in 1,000 s at the least: a longer gap is a schedule, not a rate.</summary>
    public const double MinRatePerSecond = 0.001;

    public const double MaxRatePerSecond = 10_000;

    public const int MaxConcurrency = 10_000;

    /// <summary>Null when the rate is within the bounds; otherwise what is wrong with it.</summary>
    public static string? CheckRate(double rate) =>
        double.IsFinite(rate) && rate is >= MinRatePerSecond and <= MaxRatePerSecond
            ? null
            : $"must be a number between {MinRatePerSecond} and {MaxRatePerSecond} (calls a second; fractions allowed, e.g. 0.5).";

    /// <summary>Null when the concurrency is within the bounds; otherwise what is wrong with it.</summary>
    public static string? CheckConcurrency(int concurrency) =>
        concurrency is >= 1 and <= MaxConcurrency ? null : $"must be an integer between 1 and {MaxConcurrency}.";
}

/// <summary>
/// A rate limit's state, shared by every worker: the earliest time the next call may start. Each call takes
/// its turn with one atomic update (next = max(next, now) + 1/rate).
/// </summary>
public sealed class LimitRate
{
    /// <summary><c>target:{id}</c> for a target's own limit, <c>host:{host}</c> for a host's default.</summary>
    public required string LimitKey { get; set; }

    public DateTimeOffset NextCallAt { get; set; }
}

/// <summary>
/// A concurrency slot held by a run during its call. It counts only while the run's lease is live, so a dead
/// worker's slot frees itself when its lease expires.
/// </summary>
public sealed class LimitSlot
{
    public required string LimitKey { get; set; }

    public long RunId { get; set; }

    public required string Worker { get; set; }

    public DateTimeOffset AcquiredAt { get; set; }
}
