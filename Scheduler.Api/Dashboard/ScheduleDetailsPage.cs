using System.Text.Json;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.EntityFrameworkCore;

namespace Scheduler.Api.Dashboard;

/// <summary>
/// <c>/hangfire/schedules/{id}</c>: the schedule's settings as <c>GET /schedules/{id}</c> answers them (so secrets are
/// masked the same way) and its latest runs.
/// </summary>
internal sealed class ScheduleDetailsPage(ScheduleResponse schedule, string timing, JsonElement settings, List<RunRow> runs)
    : DashboardPage(schedule.Name is { Length: > 0 } name ? $"Schedule #{schedule.Id} {name}" : $"Schedule #{schedule.Id}")
{
    public static async Task<RazorPage?> LoadAsync(DashboardContext context)
    {
        var http = context.GetHttpContext();
        var id = PageQuery.RouteId(context);
        var db = http.RequestServices.GetRequiredService<SchedulerDbContext>();
        var schedule = await db.Schedules.AsNoTracking().Include(s => s.Target).Include(s => s.Continuations)
            .FirstOrDefaultAsync(s => s.Id == id && s.DeletedAt == null, http.RequestAborted);
        if (schedule is null)
        {
            return null;
        }
        var response = ScheduleResponse.From(schedule);
        var json = http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var settings = JsonSerializer.SerializeToElement(response, json);
        var runs = await http.RequestServices.GetRequiredService<DashboardQueries>()
            .RunsAsync([], DateTimeOffset.MinValue, DateTimeOffset.MaxValue, id, 20, 0, http.RequestAborted);
        return new ScheduleDetailsPage(response, ScheduleTimingText.Describe(schedule), settings, runs);
    }

    protected override void Body()
    {
        WriteLiteral("<p>");
        ScheduleActions(schedule.Id, schedule.Status);
        WriteLiteral($" {Link(Invariant($"/runs?schedule={schedule.Id}"), "All its runs")}</p>");
        WriteLiteral("<h3>Settings</h3>");
        Facts(settings.EnumerateObject().Select(p => (p.Name, Value(p.Value))).Prepend(("timing", Encode(timing))));
        WriteLiteral("<h3>Recent runs</h3>");
        RunsTable(runs, withSchedule: false);
    }

    /// <summary>A setting's value: text as is, objects and lists as compact JSON (encoded).</summary>
    private static string Value(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => "—",
        JsonValueKind.String => Encode(value.GetString()),
        JsonValueKind.Object or JsonValueKind.Array => $"<code>{Encode(value.GetRawText())}</code>",
        _ => Encode(value.GetRawText()),
    };
}
