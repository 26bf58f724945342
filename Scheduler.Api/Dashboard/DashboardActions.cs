using System.Globalization;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Scheduler.Api.Contracts;
using Scheduler.Api.Endpoints;
using Scheduler.Api.Security;
using Scheduler.Core.Hosting;
using Scheduler.Core.Jobs;
using Scheduler.Core.Persistence;

namespace Scheduler.Api.Dashboard;

/// <summary>
/// The pages' buttons, each the API's own operation (the same code as its endpoint, not an HTTP call):
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
        var services = ScheduleServices(http);
        var action = context.UriMatch.Groups["action"].Value;
        IResult result = action switch
        {
            "pause" => (await SchedulesApi.PauseSchedule(id, services, http.RequestAborted)).Result,
            "resume" => (await SchedulesApi.ResumeSchedule(id, services, http.RequestAborted)).Result,
            "trigger" => (await SchedulesApi.TriggerSchedule(id, services, http.RequestAborted)).Result,
            _ => (await SchedulesApi.DeleteSchedule(id, services, http.RequestAborted)).Result,
        };
        return result switch
        {
            Ok<ScheduleResponse> ok => new ActionOutcome(true, Invariant($"Schedule {id} is {Core.Model.WireName.Of(ok.Value!.Status)}.")),
            Created<RunResponse> created => new ActionOutcome(true, Invariant($"Schedule {id} triggered: run {created.Value!.Id}.")),
            NoContent => new ActionOutcome(true, Invariant($"Schedule {id} deleted; its pending runs are cancelled."), "/schedules"),
            ValidationProblem problem => new ActionOutcome(false, string.Join(" ", problem.ProblemDetails.Errors.SelectMany(e => e.Value))),
            ProblemHttpResult problem => new ActionOutcome(false, problem.ProblemDetails.Title ?? "Refused.", "/schedules"),
            _ => new ActionOutcome(false, "Refused."),
        };
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
        var queued = await RetryRunsAsync(context.GetHttpContext(), ids, "Redriven from the dashboard's dead letters");
        return new ActionOutcome(true, Invariant($"{queued} of {ids.Count} selected runs queued for one manual attempt each."));
    }

    /// <summary>Reopens and queues each run as <c>POST /runs/{id}/retry</c> does; returns how many were reopened.</summary>
    private static async Task<int> RetryRunsAsync(HttpContext http, IReadOnlyList<long> ids, string why)
    {
        var db = http.RequestServices.GetRequiredService<SchedulerDbContext>();
        var enqueuer = http.RequestServices.GetRequiredService<RunEnqueuer>();
        var time = http.RequestServices.GetRequiredService<TimeProvider>();
        var reopened = 0;
        foreach (var id in ids)
        {
            if ((await RunsApi.RetryAsync(id, db, enqueuer, time, why, http.RequestAborted)).Reopened)
            {
                reopened++;
            }
        }
        return reopened;
    }

    private static SchedulesApi.Services ScheduleServices(HttpContext http)
    {
        var services = http.RequestServices;
        return new SchedulesApi.Services(
            services.GetRequiredService<SchedulerDbContext>(), services.GetRequiredService<RunEnqueuer>(), services.GetRequiredService<RunHandOff>(),
            services.GetRequiredService<ScheduleWriter>(), services.GetRequiredService<ScheduleQuota>(), http.User, services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<IOptions<ExecutionOptions>>(), services.GetRequiredService<IOptions<SchedulingOptions>>(),
            services.GetRequiredService<ILogger<SchedulesApi.Services>>());
    }

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}
