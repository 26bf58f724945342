using System.Globalization;
using Hangfire.Dashboard;

namespace Scheduler.Api.Dashboard;

/// <summary>
/// <c>/hangfire/dead-letters</c>: runs that ended unsuccessfully and were not retried (a retried run is PENDING
/// again, so it leaves the list), grouped by error type and target host, with select-all and Redrive.
/// </summary>
internal sealed class DeadLettersPage(List<DeadLetterGroup> groups, List<RunRow> runs, RunsPage.Filter filter) : DashboardPage("Dead letters")
{
    /// <summary>The most runs listed (the groups count every dead letter in the range).</summary>
    public const int MaxListed = 500;

    public static async Task<RazorPage?> LoadAsync(DashboardContext context)
    {
        var http = context.GetHttpContext();
        var now = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        var filter = RunsPage.Read(context, now);
        if (PageQuery.Text(context, "from") is null)
        {
            // A week by default: dead letters wait for someone, so a day is too short.
            var week = now.AddDays(-7);
            filter = filter with { From = week.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture), FromTime = week };
        }
        var queries = http.RequestServices.GetRequiredService<DashboardQueries>();
        var groups = await queries.DeadLetterGroupsAsync(filter.FromTime, filter.ToTime, http.RequestAborted);
        var runs = await queries.RunsAsync(RunStatusExtensions.Unsuccessful, filter.FromTime, filter.ToTime, null, MaxListed, 0, http.RequestAborted);
        return new DeadLettersPage(groups, runs, filter);
    }

    protected override void Body()
    {
        foreach (var problem in filter.Problems)
        {
            WriteLiteral($"<div class=\"alert alert-warning\">{Encode(problem)}</div>");
        }
        FilterForm("/dead-letters", ("from", "Due from", filter.From, null), ("to", "Due until", filter.To, null));
        var total = groups.Sum(g => g.Count);
        if (total == 0)
        {
            WriteLiteral("<div class=\"alert alert-success\">No dead letters: every run in this range succeeded, was skipped, or is being retried.</div>");
            return;
        }
        WriteLiteral($"<p>{Encode(total == 1 ? "1 run ended unsuccessfully" : Invariant($"{total} runs ended unsuccessfully"))}{Encode(runs.Count < total ? Invariant($"; the latest {runs.Count} are listed") : "")}. " +
                     "Redrive gives each selected run one manual attempt, as <code>POST /runs/redrive</code> does.</p>");
        if (CanAct)
        {
            WriteLiteral($"<form method=\"post\" action=\"{Encode(Url.To("/dead-letters/redrive"))}\" id=\"redrive-form\">");
            TokenField();
            BackField();
            WriteLiteral("<p><label><input type=\"checkbox\" id=\"select-all\" onclick=\"document.querySelectorAll('.run-select').forEach(c => c.checked = this.checked)\"> Select all</label> ");
            WriteLiteral("<button type=\"submit\" class=\"btn btn-sm btn-primary\" id=\"redrive\">Redrive selected</button></p>");
        }
        foreach (var group in groups)
        {
            var key = Invariant($"{Wire(group.ErrorType)}|{group.Host}");
            var members = runs.Where(r => r.ErrorType == group.ErrorType && r.Host == group.Host).ToList();
            WriteLiteral($"<h4 class=\"dead-letter-group\">{Encode(Wire(group.ErrorType))} · {Encode(group.Host)} " +
                         $"<span class=\"badge\">{Encode(Invariant($"{group.Count}"))}</span> <small>latest due {Encode(Time(group.Latest))}</small>");
            if (CanAct && members.Count > 0)
            {
                WriteLiteral($" <label style=\"font-size:small\"><input type=\"checkbox\" data-group=\"{Encode(key)}\" " +
                             "onclick=\"document.querySelectorAll('.run-select').forEach(c => { if (c.dataset.group === this.dataset.group) c.checked = this.checked; })\"> select group</label>");
            }
            WriteLiteral("</h4>");
            RunsTable(members, withSchedule: true, selectable: CanAct, group: key);
        }
        if (CanAct)
        {
            WriteLiteral("</form>");
        }
    }
}
