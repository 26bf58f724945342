using Hangfire.Dashboard;

namespace Scheduler.Api.Dashboard;

/// <summary><c>/hangfire/schedules</c>: every schedule, newest first, with its last 24 hours of runs.</summary>
internal sealed class SchedulesPage(List<ScheduleRow> rows, string? status, string? kind, string? name, int offset) : DashboardPage("Schedules")
{
    public static async Task<RazorPage?> LoadAsync(DashboardContext context)
    {
        var queries = context.GetHttpContext().RequestServices.GetRequiredService<DashboardQueries>();
        var offset = PageQuery.Offset(context);
        var rows = await queries.SchedulesAsync(PageQuery.Enum<ScheduleStatus>(context, "status"), PageQuery.Enum<ScheduleType>(context, "kind"),
            PageQuery.Text(context, "name"), PageQuery.PageSize + 1, offset, context.GetHttpContext().RequestAborted);
        return new SchedulesPage(rows, PageQuery.Text(context, "status"), PageQuery.Text(context, "kind"), PageQuery.Text(context, "name"), offset);
    }

    protected override void Body()
    {
        FilterForm("/schedules",
            ("status", "Status", status, WireName.Values<ScheduleStatus>()),
            ("kind", "Kind", kind, WireName.Values<ScheduleType>()),
            ("name", "Name contains", name, null));
        WriteLiteral("<p class=\"text-muted\">Runs, failures and lateness count the runs due in the last 24 hours.</p>");
        if (rows.Count == 0)
        {
            WriteLiteral("<div class=\"alert alert-info\">No schedules match.</div>");
            return;
        }
        TableStart("Schedule", "Kind", "Status", "Timing", "Next due", "Last run", "Runs", "Succeeded", "Failed", "Lateness p50", "Lateness p99", "");
        foreach (var row in rows.Take(PageQuery.PageSize))
        {
            WriteLiteral("<tr>");
            Cell(ScheduleLink(row.Id, row.Name));
            Cell(Encode(WireName.Of(row.Type)));
            Cell(Encode(WireName.Of(row.Status)));
            Cell(Encode(row.Timing));
            Cell(Encode(Time(row.NextRunAt)));
            Cell(row.LastRunId is { } last ? $"{StatusLabel(row.LastRunStatus)} {RunLink(last)}" : "—");
            Cell(Link(Invariant($"/runs?schedule={row.Id}"), Invariant($"{row.Runs}")));
            Cell(Encode(Invariant($"{row.Succeeded}")));
            Cell(row.Failed > 0 ? $"<span class=\"text-danger\">{Encode(Invariant($"{row.Failed}"))}</span>" : "0");
            Cell(Encode(Millis(row.LatenessP50Ms)));
            Cell(Encode(Millis(row.LatenessP99Ms)));
            WriteLiteral("<td style=\"white-space:nowrap\">");
            ScheduleActions(row.Id, row.Status);
            WriteLiteral("</td></tr>");
        }
        TableEnd();
        Pager("/schedules", offset, PageQuery.PageSize, rows.Count > PageQuery.PageSize);
    }

    private void Cell(string markup) => WriteLiteral($"<td>{markup}</td>");
}
