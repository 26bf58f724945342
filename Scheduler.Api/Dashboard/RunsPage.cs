using System.Globalization;
using Hangfire.Dashboard;
using Scheduler.Core.Scheduling;

namespace Scheduler.Api.Dashboard;

/// <summary><c>/hangfire/runs</c>: runs by due time, latest first, filtered by status, schedule and due time (last 24 hours by default).</summary>
internal sealed class RunsPage(List<RunRow> runs, RunsPage.Filter filter, int offset) : DashboardPage("Runs")
{
    /// <summary>The filters as given (texts, for the form) and as understood.</summary>
    internal sealed record Filter(string? Status, string? Schedule, string From, string? To, RunStatus? StatusValue, long? ScheduleId,
        DateTimeOffset FromTime, DateTimeOffset ToTime, IReadOnlyList<string> Problems);

    public static async Task<RazorPage?> LoadAsync(DashboardContext context)
    {
        var http = context.GetHttpContext();
        var filter = Read(context, http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow());
        var offset = PageQuery.Offset(context);
        var runs = await http.RequestServices.GetRequiredService<DashboardQueries>().RunsAsync(
            filter.StatusValue is { } status ? [status] : [], filter.FromTime, filter.ToTime, filter.ScheduleId, PageQuery.PageSize + 1, offset,
            http.RequestAborted);
        return new RunsPage(runs, filter, offset);
    }

    /// <summary>Reads the filters; a time that does not parse is named and the default used instead.</summary>
    internal static Filter Read(DashboardContext context, DateTimeOffset now)
    {
        var problems = new List<string>();
        var defaultFrom = now.AddHours(-24);
        var from = ParseTime(PageQuery.Text(context, "from"), "Due from", now, problems) ?? defaultFrom;
        var to = ParseTime(PageQuery.Text(context, "to"), "Due until", now, problems) ?? RunAtParser.MaxTime;
        var fromText = PageQuery.Text(context, "from") ?? defaultFrom.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return new Filter(PageQuery.Text(context, "status"), PageQuery.Text(context, "schedule"), fromText, PageQuery.Text(context, "to"),
            PageQuery.Enum<RunStatus>(context, "status"), PageQuery.Id(context, "schedule"), from, to, problems);
    }

    private static DateTimeOffset? ParseTime(string? text, string label, DateTimeOffset now, List<string> problems)
    {
        if (text is null)
        {
            return null;
        }
        var (value, error) = RunAtParser.Parse(text, now);
        if (error is not null)
        {
            problems.Add($"{label} {error}");
        }
        return value;
    }

    protected override void Body()
    {
        foreach (var problem in filter.Problems)
        {
            WriteLiteral($"<div class=\"alert alert-warning\">{Encode(problem)}</div>");
        }
        FilterForm("/runs",
            ("status", "Status", filter.Status, WireName.Values<RunStatus>()),
            ("schedule", "Schedule id", filter.Schedule, null),
            ("from", "Due from", filter.From, null),
            ("to", "Due until", filter.To, null));
        RunsTable([.. runs.Take(PageQuery.PageSize)], withSchedule: true);
        Pager("/runs", offset, PageQuery.PageSize, runs.Count > PageQuery.PageSize);
    }
}
