using System.Globalization;
using System.Net;
using Hangfire.Dashboard;
using Hangfire.Dashboard.Pages;
using Microsoft.AspNetCore.Antiforgery;

namespace Scheduler.Api.Dashboard;

/// <summary>
/// A page of ours inside Hangfire's dashboard: Hangfire's layout (menu, header, footer), our body. Everything
/// written through <see cref="Text"/> is HTML-encoded; markup is only ever literal.
/// </summary>
internal abstract class DashboardPage(string title) : RazorPage
{
    protected string Title { get; } = title;

    /// <summary>The session may change things (an admin key); read-only sessions get no buttons.</summary>
    protected bool CanAct => !IsReadOnly;

    public override void Execute()
    {
        Layout = new LayoutPage(Title);
        WriteLiteral("<div class=\"row\"><div class=\"col-md-12\">");
        WriteLiteral($"<h1 class=\"page-header\">{Encode(Title)}</h1>");
        if (Query("done") is { Length: > 0 } done)
        {
            WriteLiteral($"<div class=\"alert alert-success\" role=\"status\">{Encode(done)}</div>");
        }
        if (Query("error") is { Length: > 0 } error)
        {
            WriteLiteral($"<div class=\"alert alert-danger\" role=\"alert\">{Encode(error)}</div>");
        }
        Body();
        WriteLiteral("</div></div>");
    }

    /// <summary>The page's own content, under its title.</summary>
    protected abstract void Body();

    protected void Text(string? text) => WriteLiteral(Encode(text));

    protected static string Encode(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>A link inside the dashboard (<paramref name="path"/> relative to it, e.g. <c>/runs/5</c>).</summary>
    protected string Link(string path, string text) => $"<a href=\"{Encode(Url.To(path))}\">{Encode(text)}</a>";

    protected string RunLink(long id) => Link(Invariant($"/runs/{id}"), Invariant($"#{id}"));

    protected string ScheduleLink(long id, string? name) =>
        Link(Invariant($"/schedules/{id}"), name is { Length: > 0 } ? Invariant($"#{id} {name}") : Invariant($"#{id}"));

    /// <summary>
    /// A button that POSTs to <paramref name="path"/> with the page's antiforgery token (Hangfire's dashboard
    /// refuses a POST without it). Only admin sessions get it; the server refuses others anyway.
    /// </summary>
    protected void ActionButton(string path, string label, string style = "btn-default", string? confirm = null)
    {
        if (!CanAct)
        {
            return;
        }
        var onSubmit = confirm is null ? "" : $" onsubmit=\"return confirm('{Encode(confirm)}')\"";
        WriteLiteral($"<form method=\"post\" action=\"{Encode(Url.To(path))}\" class=\"inline-action\" style=\"display:inline\"{onSubmit}>");
        TokenField();
        BackField();
        WriteLiteral($"<button type=\"submit\" class=\"btn btn-sm {style}\">{Encode(label)}</button></form> ");
    }

    /// <summary>The antiforgery token as the form field the dashboard's check reads.</summary>
    protected void TokenField()
    {
        var field = Services.GetRequiredService<IOptions<AntiforgeryOptions>>().Value.FormFieldName;
        WriteLiteral($"<input type=\"hidden\" name=\"{Encode(field)}\" value=\"{Encode(Context.AntiforgeryToken)}\">");
    }

    /// <summary>Where the action returns to: this page, with its filters (without the last action's message).</summary>
    protected void BackField()
    {
        var request = Context.GetHttpContext().Request;
        var query = string.Join("&", request.Query.Where(q => q.Key is not ("done" or "error"))
            .SelectMany(q => q.Value.Select(v => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(v ?? "")}")));
        var back = request.PathBase + request.Path + (query.Length > 0 ? "?" + query : "");
        WriteLiteral($"<input type=\"hidden\" name=\"{ActionDispatcher.BackField}\" value=\"{Encode(back)}\">");
    }

    protected IServiceProvider Services => Context.GetHttpContext().RequestServices;

    protected static string Invariant(FormattableString text) => FormattableString.Invariant(text);

    protected static string Time(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : "—";

    protected static string Millis(double? ms) => ms switch
    {
        null => "—",
        < 1000 => Invariant($"{ms:0.#} ms"),
        < 60_000 => Invariant($"{ms / 1000:0.##} s"),
        _ => Invariant($"{ms / 60_000:0.#} min"),
    };

    protected static string Wire<TEnum>(TEnum? value) where TEnum : struct, Enum => value is { } v ? WireName.Of(v) : "—";

    /// <summary>A run status as a Bootstrap label: green for success, red for a failure, grey otherwise.</summary>
    protected static string StatusLabel(RunStatus? status)
    {
        var style = status switch
        {
            RunStatus.Success => "label-success",
            RunStatus.Failed or RunStatus.Timeout or RunStatus.DnsError or RunStatus.ConnectionError => "label-danger",
            RunStatus.Running => "label-info",
            RunStatus.Pending => "label-primary",
            _ => "label-default",
        };
        return $"<span class=\"label {style}\">{Encode(Wire(status))}</span>";
    }

    /// <summary>Pause or Resume (as the status allows), Trigger now and Delete: POSTs for admin sessions.</summary>
    protected void ScheduleActions(long id, ScheduleStatus status)
    {
        if (status == ScheduleStatus.Active)
        {
            ActionButton(Invariant($"/schedules/{id}/pause"), "Pause");
        }
        else if (status == ScheduleStatus.Paused)
        {
            ActionButton(Invariant($"/schedules/{id}/resume"), "Resume");
        }
        ActionButton(Invariant($"/schedules/{id}/trigger"), "Trigger now");
        ActionButton(Invariant($"/schedules/{id}/delete"), "Delete", "btn-danger", Invariant($"Delete schedule {id}? Its pending runs are cancelled."));
    }

    /// <summary>Runs as rows; <paramref name="selectable"/> adds a checkbox per run (named <c>run</c>) for a form around the table.</summary>
    protected void RunsTable(IReadOnlyCollection<RunRow> runs, bool withSchedule, bool selectable = false, string? group = null)
    {
        if (runs.Count == 0)
        {
            WriteLiteral("<div class=\"alert alert-info\">No runs match.</div>");
            return;
        }
        List<string> headings = [.. selectable ? new[] { "Select" } : [], "Run", .. withSchedule ? new[] { "Schedule" } : [],
            "Due", "Lateness", "Status", "Status code", "Error type", "Attempts", "Target", "Error"];
        TableStart([.. headings]);
        foreach (var run in runs)
        {
            WriteLiteral("<tr>");
            if (selectable)
            {
                WriteLiteral(Invariant($"<td><input type=\"checkbox\" name=\"run\" value=\"{run.Id}\" class=\"run-select\" data-group=\"{Encode(group)}\" aria-label=\"select run {run.Id}\"></td>"));
            }
            WriteLiteral($"<td>{RunLink(run.Id)}</td>");
            if (withSchedule)
            {
                WriteLiteral($"<td>{ScheduleLink(run.ScheduleId, run.ScheduleName)}</td>");
            }
            WriteLiteral($"<td>{Encode(Time(run.DueAt))}</td><td>{Encode(Millis(run.LatenessMs))}</td><td>{StatusLabel(run.Status)}</td>");
            WriteLiteral($"<td>{Encode(run.StatusCode is { } code ? Invariant($"{code}") : "—")}</td><td>{Encode(Wire(run.ErrorType))}</td>");
            WriteLiteral($"<td>{Encode(Invariant($"{run.AttemptCount}"))}</td><td>{Encode(run.Host)}</td>");
            WriteLiteral($"<td><small>{Encode(Shorten(run.ErrorMessage, 120))}</small></td></tr>");
        }
        TableEnd();
    }

    protected static string Shorten(string? text, int length) => text is null ? "" : text.Length <= length ? text : text[..length] + "…";

    /// <summary>Opens a table with the given column headings.</summary>
    protected void TableStart(params string[] headings)
    {
        WriteLiteral("<div class=\"table-responsive\"><table class=\"table table-striped\"><thead><tr>");
        foreach (var heading in headings)
        {
            WriteLiteral($"<th>{Encode(heading)}</th>");
        }
        WriteLiteral("</tr></thead><tbody>");
    }

    protected void TableEnd() => WriteLiteral("</tbody></table></div>");

    /// <summary>One row: each cell is markup the caller built with <see cref="Encode"/> or the helpers above.</summary>
    protected void Row(params string[] cells)
    {
        WriteLiteral("<tr>");
        foreach (var cell in cells)
        {
            WriteLiteral($"<td>{cell}</td>");
        }
        WriteLiteral("</tr>");
    }

    /// <summary>Label/value pairs as a two-column table (values already markup).</summary>
    protected void Facts(IEnumerable<(string Label, string Value)> facts)
    {
        WriteLiteral("<table class=\"table table-condensed\"><tbody>");
        foreach (var (label, value) in facts)
        {
            WriteLiteral($"<tr><th style=\"width:16em\">{Encode(label)}</th><td>{value}</td></tr>");
        }
        WriteLiteral("</tbody></table>");
    }

    /// <summary>A GET filter form: <paramref name="fields"/> are (name, label, current value, options or null for free text).</summary>
    protected void FilterForm(string path, params (string Name, string Label, string? Value, IReadOnlyList<string>? Options)[] fields)
    {
        WriteLiteral($"<form method=\"get\" action=\"{Encode(Url.To(path))}\" class=\"form-inline\" style=\"margin-bottom:1em\">");
        foreach (var (name, label, value, options) in fields)
        {
            WriteLiteral($"<div class=\"form-group\" style=\"margin-right:1em\"><label for=\"f-{Encode(name)}\">{Encode(label)}</label> ");
            if (options is null)
            {
                WriteLiteral($"<input class=\"form-control input-sm\" id=\"f-{Encode(name)}\" name=\"{Encode(name)}\" value=\"{Encode(value)}\">");
            }
            else
            {
                WriteLiteral($"<select class=\"form-control input-sm\" id=\"f-{Encode(name)}\" name=\"{Encode(name)}\"><option value=\"\">any</option>");
                foreach (var option in options)
                {
                    var selected = string.Equals(option, value, StringComparison.OrdinalIgnoreCase) ? " selected" : "";
                    WriteLiteral($"<option{selected}>{Encode(option)}</option>");
                }
                WriteLiteral("</select>");
            }
            WriteLiteral("</div>");
        }
        WriteLiteral("<button type=\"submit\" class=\"btn btn-sm btn-primary\">Filter</button></form>");
    }

    /// <summary>Previous/next links that keep the page's filters (offset paging; no total is counted).</summary>
    protected void Pager(string path, int offset, int pageSize, bool hasMore)
    {
        if (offset == 0 && !hasMore)
        {
            return;
        }
        WriteLiteral("<nav><ul class=\"pager\">");
        if (offset > 0)
        {
            WriteLiteral($"<li class=\"previous\"><a href=\"{Encode(PageUrl(path, Math.Max(0, offset - pageSize)))}\">Previous</a></li>");
        }
        if (hasMore)
        {
            WriteLiteral($"<li class=\"next\"><a href=\"{Encode(PageUrl(path, offset + pageSize))}\">Next</a></li>");
        }
        WriteLiteral("</ul></nav>");
    }

    private string PageUrl(string path, int offset)
    {
        var query = Context.GetHttpContext().Request.Query
            .Where(q => q.Key is not ("offset" or "done" or "error"))
            .SelectMany(q => q.Value.Select(v => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(v ?? "")}"))
            .Append(Invariant($"offset={offset}"));
        return Url.To(path) + "?" + string.Join("&", query);
    }
}
