using System.Collections.Concurrent;
using Cronos;

namespace Scheduler.Core.Scheduling;

/// <summary>
/// A cron expression with its time zone: 5 fields (minute precision) or 6 (seconds first), or a preset
/// name from seed 003 (<c>EVERY_MINUTE</c> … <c>EVERY_YEAR</c>), each firing at the start of its period.
/// </summary>
public sealed class CronSpec
{
    /// <summary>Preset names and the expressions they stand for (as cron's @hourly, @daily… do).</summary>
    public static readonly IReadOnlyDictionary<string, string> Presets = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["EVERY_MINUTE"] = "* * * * *",
        ["EVERY_HOUR"] = "0 * * * *",
        ["EVERY_DAY"] = "0 0 * * *",
        ["EVERY_WEEK"] = "0 0 * * 0",
        ["EVERY_MONTH"] = "0 0 1 * *",
        ["EVERY_QUARTER"] = "0 0 1 */3 *",
        ["EVERY_YEAR"] = "0 0 1 1 *",
    };

    private static readonly ConcurrentDictionary<(string, string), CronSpec> Cache = new();

    private CronSpec(CronExpression expression, TimeZoneInfo zone)
    {
        Expression = expression;
        Zone = zone;
    }

    public CronExpression Expression { get; }

    public TimeZoneInfo Zone { get; }

    /// <summary>Parses an expression (or preset) and an IANA time zone; returns an error naming what is wrong.</summary>
    public static (CronSpec? Spec, string? ExpressionError, string? ZoneError) Parse(string? expression, string? timeZone)
    {
        string? expressionError = null, zoneError = null;
        CronExpression? parsed = null;
        if (string.IsNullOrWhiteSpace(expression))
        {
            expressionError = $"is required for CRON schedules: 5 fields (minute hour day month weekday), 6 with seconds first, or a preset ({string.Join(", ", Presets.Keys)}).";
        }
        else
        {
            var text = Presets.TryGetValue(expression.Trim(), out var preset) ? preset : expression.Trim();
            var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            if (fields is not (5 or 6))
            {
                expressionError = $"'{expression}' has {fields} fields: give 5 (minute hour day month weekday) or 6 (seconds first), or a preset.";
            }
            else if (!CronExpression.TryParse(text, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard, out parsed))
            {
                expressionError = $"'{expression}' is not a valid cron expression.";
            }
        }

        TimeZoneInfo? zone = null;
        var zoneId = string.IsNullOrWhiteSpace(timeZone) ? "UTC" : timeZone.Trim();
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out zone))
        {
            zoneError = $"'{timeZone}' is not a known IANA time zone (such as 'UTC', 'Europe/Berlin', 'America/New_York').";
        }
        return parsed is not null && zone is not null ? (new CronSpec(parsed, zone), null, null) : (null, expressionError, zoneError);
    }

    /// <summary>A parsed spec for a stored (already validated) schedule; parsed once per expression and zone.</summary>
    public static CronSpec ForStored(string expression, string? timeZone)
    {
        var key = (expression, timeZone ?? "UTC");
        if (Cache.TryGetValue(key, out var cached))
        {
            return cached;
        }
        var (spec, expressionError, zoneError) = Parse(expression, timeZone);
        if (spec is null)
        {
            throw new FormatException(expressionError ?? zoneError);
        }
        if (Cache.Count > 10_000)
        {
            Cache.Clear();
        }
        return Cache[key] = spec;
    }

    /// <summary>The first occurrence at or after <paramref name="from"/>; null if there is none.</summary>
    public DateTimeOffset? NextAtOrAfter(DateTimeOffset from) =>
        Expression.GetNextOccurrence(from.ToUniversalTime(), Zone, inclusive: true)?.ToUniversalTime();
}
