using System.Globalization;
using System.Text.Json;

namespace Scheduler.Core.Scheduling;

/// <summary>
/// Parses when a one-off run is due: ISO-8601 with an offset (<c>2026-11-23T21:00:00Z</c>), Unix seconds
/// (a number or a string of digits, fractions allowed), or relative to now (<c>+90s</c>, <c>+10m</c>,
/// <c>+6h</c>, <c>+2d</c>). Times are kept to the microsecond, as PostgreSQL stores them, and lie between
/// <see cref="MinTime"/> and <see cref="MaxTime"/> whatever their form.
/// </summary>
public static class RunAtParser
{
    /// <summary>The earliest time accepted: the Unix epoch (nothing a scheduler is asked for lies before it).</summary>
    public static readonly DateTimeOffset MinTime = DateTimeOffset.UnixEpoch;

    /// <summary>
    /// The latest time accepted (exclusive). Far enough inside .NET's range (it ends with 9999) that a
    /// window's end or a next occurrence counted from it can be computed; PostgreSQL stores far more.
    /// </summary>
    public static readonly DateTimeOffset MaxTime = new(9999, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly string Range = $"{MinTime:yyyy-MM-dd'T'HH:mm:ss'Z'} to {MaxTime:yyyy-MM-dd'T'HH:mm:ss'Z'}";

    /// <summary>Returns the instant, or an error message that says what is accepted.</summary>
    public static (DateTimeOffset? Value, string? Error) Parse(JsonElement value, DateTimeOffset now) =>
        value.ValueKind switch
        {
            JsonValueKind.Number => value.TryGetDecimal(out var seconds)
                ? FromUnixSeconds(seconds)
                : (null, "must be a Unix time in seconds, an ISO-8601 time or a relative time such as '+90s'."),
            JsonValueKind.String => Parse(value.GetString()!, now),
            _ => (null, "must be a string or a number: an ISO-8601 time, Unix seconds, or a relative time such as '+90s', '+10m', '+6h', '+2d'."),
        };

    public static (DateTimeOffset? Value, string? Error) Parse(string text, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text.Length == 0)
        {
            return (null, "must not be empty: give an ISO-8601 time, Unix seconds, or a relative time such as '+90s'.");
        }
        if (text[0] == '+')
        {
            return ParseRelative(text, now);
        }
        if (decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            return FromUnixSeconds(seconds);
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant)
            && text.Contains('T', StringComparison.OrdinalIgnoreCase))
        {
            return instant < MinTime || instant >= MaxTime
                ? (null, $"'{text}' is outside the supported range ({Range}).")
                : (TruncateToMicroseconds(instant.ToUniversalTime()), null);
        }
        return (null, $"'{text}' is not a time: give an ISO-8601 time such as '2030-01-01T12:00:00Z', Unix seconds such as '1893456000', or a relative time such as '+90s', '+10m', '+6h', '+2d'.");
    }

    private static (DateTimeOffset?, string?) ParseRelative(string text, DateTimeOffset now)
    {
        var unit = text[^1];
        var digits = text.Length > 2 ? text[1..^1] : "";
        var unitSeconds = char.ToLowerInvariant(unit) switch
        {
            's' => 1L,
            'm' => 60L,
            'h' => 3600L,
            'd' => 86400L,
            _ => 0L,
        };
        if (unitSeconds == 0 || digits.Length == 0 || !digits.All(char.IsAsciiDigit) || digits.Length > 9)
        {
            return (null, $"'{text}' is not a relative time: use '+<number><unit>' with unit s, m, h or d, such as '+90s', '+10m', '+6h', '+2d'.");
        }
        // Compared before it is added: nine digits of days is past the end of DateTimeOffset itself.
        var seconds = long.Parse(digits, CultureInfo.InvariantCulture) * unitSeconds;
        return seconds >= (MaxTime - now).TotalSeconds
            ? (null, $"'{text}' is too far in the future: times must be before {MaxTime:yyyy-MM-dd'T'HH:mm:ss'Z'}.")
            : (TruncateToMicroseconds(now.AddSeconds(seconds)), null);
    }

    private static (DateTimeOffset?, string?) FromUnixSeconds(decimal seconds)
    {
        if (seconds < MinTime.ToUnixTimeSeconds() || seconds >= MaxTime.ToUnixTimeSeconds())
        {
            return (null, $"{seconds.ToString(CultureInfo.InvariantCulture)} is outside the supported Unix time range ({MinTime.ToUnixTimeSeconds()} to {MaxTime.ToUnixTimeSeconds()}, {Range}).");
        }
        var ticks = (long)(seconds * TimeSpan.TicksPerSecond);
        return (TruncateToMicroseconds(DateTimeOffset.UnixEpoch.AddTicks(ticks)), null);
    }

    /// <summary>PostgreSQL keeps microseconds; truncating here means the stored time is the time compared.</summary>
    public static DateTimeOffset TruncateToMicroseconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % 10), TimeSpan.Zero);
}
