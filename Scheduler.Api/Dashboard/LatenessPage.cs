using Hangfire.Dashboard;

namespace Scheduler.Api.Dashboard;

/// <summary>
/// <c>/hangfire/lateness</c>: how late runs due in the last hour started (call start minus due time), per
/// schedule kind: p50, p99, max and a histogram.
/// </summary>
internal sealed class LatenessPage(List<LatenessByKind> kinds) : DashboardPage("Lateness, last hour")
{
    public static async Task<RazorPage?> LoadAsync(DashboardContext context)
    {
        var http = context.GetHttpContext();
        return new LatenessPage(await http.RequestServices.GetRequiredService<DashboardQueries>().LatenessLastHourAsync(http.RequestAborted));
    }

    protected override void Body()
    {
        WriteLiteral("<p class=\"text-muted\">Runs due in the last hour that have started a call; lateness is the first call's start minus the due time.</p>");
        if (kinds.Count == 0)
        {
            WriteLiteral("<div class=\"alert alert-info\">No run due in the last hour has started.</div>");
            return;
        }
        TableStart("Kind", "Runs", "p50", "p99", "Max");
        foreach (var kind in kinds)
        {
            Row(Encode(WireName.Of(kind.Type)), Encode(Invariant($"{kind.Runs}")), Encode(Millis(kind.P50Ms)), Encode(Millis(kind.P99Ms)), Encode(Millis(kind.MaxMs)));
        }
        TableEnd();

        WriteLiteral("<h3>Histogram</h3>");
        var labels = BucketLabels();
        TableStart(["Kind", .. labels]);
        foreach (var kind in kinds)
        {
            var most = Math.Max(1, kind.Buckets.Max());
            WriteLiteral($"<tr class=\"lateness-histogram\"><th>{Encode(WireName.Of(kind.Type))}</th>");
            foreach (var count in kind.Buckets)
            {
                var height = Math.Max(count > 0 ? 2 : 0, (int)(60.0 * count / most));
                WriteLiteral(Invariant($"<td style=\"vertical-align:bottom;text-align:center\"><div title=\"{count} runs\" style=\"margin:0 auto;width:2.5em;height:{height}px;background:#337ab7\"></div><small>{count}</small></td>"));
            }
            WriteLiteral("</tr>");
        }
        TableEnd();
    }

    /// <summary>"&lt; 10 ms", "10–50 ms", …, "≥ 5 s": one per bucket of <see cref="DashboardQueries.LatenessBuckets"/>.</summary>
    private static string[] BucketLabels()
    {
        var bounds = DashboardQueries.LatenessBuckets;
        var labels = new string[bounds.Length + 1];
        labels[0] = $"< {Millis(bounds[0])}";
        for (var i = 1; i < bounds.Length; i++)
        {
            labels[i] = $"{Millis(bounds[i - 1])} – {Millis(bounds[i])}";
        }
        labels[^1] = $"≥ {Millis(bounds[^1])}";
        return labels;
    }
}
