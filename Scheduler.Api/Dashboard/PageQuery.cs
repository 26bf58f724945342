using System.Globalization;
using Hangfire.Dashboard;

namespace Scheduler.Api.Dashboard;

/// <summary>A page's query string read leniently: a value that does not parse is as if not given (a filter form never errs).</summary>
internal static class PageQuery
{
    public const int PageSize = 50;

    public static string? Text(DashboardContext context, string key) =>
        context.Request.GetQuery(key) is { } value && value.Trim() is { Length: > 0 } trimmed ? trimmed : null;

    public static int Offset(DashboardContext context) =>
        int.TryParse(Text(context, "offset"), NumberStyles.None, CultureInfo.InvariantCulture, out var offset) ? Math.Min(offset, 1_000_000) : 0;

    public static long? Id(DashboardContext context, string key) =>
        long.TryParse(Text(context, key), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;

    public static TEnum? Enum<TEnum>(DashboardContext context, string key) where TEnum : struct, Enum =>
        WireName.TryParse<TEnum>(Text(context, key)?.ToUpperInvariant(), out var value) ? value : null;

    /// <summary>The id in the route (<c>(?&lt;id&gt;\d+)</c>).</summary>
    public static long RouteId(DashboardContext context) => long.Parse(context.UriMatch.Groups["id"].Value, CultureInfo.InvariantCulture);
}
