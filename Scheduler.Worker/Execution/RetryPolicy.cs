using System.Globalization;
using System.Net.Http.Headers;

namespace Scheduler.Worker.Execution;

/// <summary>
/// When the next attempt of a failed run is due: exponential backoff from the initial interval (doubling,
/// capped, ±20 % jitter), or exactly what the target's <c>Retry-After</c> asked for (capped).
/// </summary>
internal static class RetryPolicy
{
    public static TimeSpan Delay(int attemptsMade, int initialSeconds, int maxSeconds, TimeSpan? retryAfter, ExecutionOptions options, Random random)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        if (retryAfter is { } asked)
        {
            var cap = TimeSpan.FromSeconds(options.MaxRetryAfterSeconds);
            return asked < TimeSpan.Zero ? TimeSpan.Zero : asked > cap ? cap : asked;
        }
        var exponent = Math.Min(Math.Max(attemptsMade - 1, 0), 30);
        var seconds = Math.Min(maxSeconds, initialSeconds * Math.Pow(2, exponent));
        return TimeSpan.FromSeconds(seconds * (0.8 + (0.4 * random.NextDouble())));
    }

    /// <summary>A <c>Retry-After</c> header as a delay from <paramref name="now"/>: seconds, or an HTTP date.</summary>
    public static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now) => header switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - now,
        _ => null,
    };

    /// <summary>For headers that did not parse as <see cref="RetryConditionHeaderValue"/>.</summary>
    public static TimeSpan? RetryAfter(string? value, DateTimeOffset now) =>
        value is null ? null
        : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds)
        : DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? date - now
        : null;
}
