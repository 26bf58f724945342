using System.Globalization;
using Hangfire.Dashboard;
using Scheduler.Api.Runs;
using Scheduler.Api.Schedules;
using Scheduler.Core.Jobs;

namespace Scheduler.Api.Dashboard;

/// <summary>
/// The pages' buttons, each the API's own operation (the service its endpoint calls, not an HTTP call):
/// pause, resume, trigger and delete a schedule; retry a run; redrive dead letters.
/// </summary>
internal static class DashboardActions
{
    /// <summary>The most runs one redrive takes (the dead-letters page lists at most this many).</summary>
    public const int MaxRedrive = DeadLettersPage.MaxListed;

    public static async Task<ActionOutcome> ScheduleAsync(DashboardContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var http = context.GetHttpContext();
        var id = PageQuery.RouteId(context);
        var schedules = http.RequestServices.GetRequiredService<ScheduleService>();
        var action = context.UriMatch.Groups["action"].Value;
        var notFound = new ActionOutcome(false, "Not found", "/schedules");
        switch (action)
        {
            case "pause" or "resume":
                var (schedule, errors) = action == "pause"
                    ? await schedules.PauseAsync(id, http.RequestAborted)
                    : await schedules.ResumeAsync(id, http.RequestAborted);
                return schedule is not null ? new ActionOutcome(true, Invariant($"Schedule {id} is {Core.Model.WireName.Of(schedule.Status)}."))
                    : errors is not null ? new ActionOutcome(false, string.Join(" ", errors.ToDictionary().SelectMany(e => e.Value)))
                    : notFound;
            case "trigger":
                return await schedules.TriggerAsync(id, http.RequestAborted) is { } run
                    ? new ActionOutcome(true, Invariant($"Schedule {id} triggered: run {run.Id}."))
                    : notFound;
            default:
                return await schedules.DeleteAsync(id, http.RequestAborted)
                    ? new ActionOutcome(true, Invariant($"Schedule {id} deleted; its pending runs are cancelled."), "/schedules")
                    : notFound;
        }
    }

    public static async Task<ActionOutcome> RetryAsync(DashboardContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var id = PageQuery.RouteId(context);
        var reopened = await RetryRunsAsync(context.GetHttpContext(), [id], "Manual retry requested from the dashboard");
        return reopened == 1
            ? new ActionOutcome(true, Invariant($"Run {id} queued for one manual attempt."))
            : new ActionOutcome(false, Invariant($"Run {id} was not retried: it has not finished (or does not exist)."));
    }

    public static async Task<ActionOutcome> RedriveAsync(DashboardContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var ids = (await context.Request.GetFormValuesAsync("run"))
            .Select(v => long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : (long?)null)
            .OfType<long>().Distinct().Take(MaxRedrive).ToList();
        if (ids.Count == 0)
        {
            return new ActionOutcome(false, "Select the runs to redrive first.");
        }
        // The API's redrive (POST /runs/redrive) on the selection: one statement, batch jobs.
        var http = context.GetHttpContext();
        var result = await http.RequestServices.GetRequiredService<RunService>()
            .RedriveAsync(new RedriveFilter(RunIds: ids), "Redriven from the dashboard's dead letters", http.RequestAborted);
        var queued = result.Queued;
        return new ActionOutcome(true, Invariant($"{queued} of {ids.Count} selected runs queued for one manual attempt each."));
    }

    /// <summary>Reopens and queues each run as <c>POST /runs/{id}/retry</c> does; returns how many were reopened.</summary>
    private static async Task<int> RetryRunsAsync(HttpContext http, IReadOnlyList<long> ids, string why)
    {
        var runs = http.RequestServices.GetRequiredService<RunService>();
        var reopened = 0;
        foreach (var id in ids)
        {
            if ((await runs.RetryAsync(id, why, http.RequestAborted)).Reopened)
            {
                reopened++;
            }
        }
        return reopened;
    }

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}
