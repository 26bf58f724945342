using System.Net;
using Hangfire;
using Hangfire.Dashboard;
using Scheduler.Core.Jobs;

namespace Scheduler.Api.Dashboard;

/// <summary>
/// Our pages in Hangfire's dashboard: schedules, runs, dead letters and lateness, in its menu and layout and behind
/// its authorization (the dashboard's sign-in; read-only sessions get no buttons, and their POSTs are refused).
/// Hangfire keeps routes, menu and job renderers in static collections, so they are added once per process.
/// </summary>
internal static class DashboardPages
{
    private const string Id = @"(?<id>\d{1,18})";
    private static int _added;

    public static void Add()
    {
        if (Interlocked.Exchange(ref _added, 1) == 1)
        {
            return;
        }
        var routes = DashboardRoutes.Routes;
        routes.Add("/schedules", new PageDispatcher(SchedulesPage.LoadAsync));
        routes.Add($"/schedules/{Id}", new PageDispatcher(ScheduleDetailsPage.LoadAsync));
        routes.Add($"/schedules/{Id}/(?<action>pause|resume|trigger|delete)", new ActionDispatcher(DashboardActions.ScheduleAsync));
        routes.Add("/runs", new PageDispatcher(RunsPage.LoadAsync));
        routes.Add($"/runs/{Id}", new PageDispatcher(RunDetailsPage.LoadAsync));
        routes.Add($"/runs/{Id}/retry", new ActionDispatcher(DashboardActions.RetryAsync));
        routes.Add("/dead-letters", new PageDispatcher(DeadLettersPage.LoadAsync));
        routes.Add("/dead-letters/redrive", new ActionDispatcher(DashboardActions.RedriveAsync));
        routes.Add("/lateness", new PageDispatcher(LatenessPage.LoadAsync));

        foreach (var (title, path) in new[] { ("Schedules", "/schedules"), ("Runs", "/runs"), ("Dead letters", "/dead-letters"), ("Lateness", "/lateness") })
        {
            NavigationMenu.Items.Add(page => new MenuItem(title, page.Url.To(path))
            {
                Active = page.RequestPath.StartsWith(path, StringComparison.OrdinalIgnoreCase),
            });
        }
        GlobalConfiguration.Configuration.UseJobDetailsRenderer(10, RunsOfJob);
    }

    /// <summary>On Hangfire's job page: links to the runs the job carries (its arguments name them).</summary>
    private static NonEscapedString RunsOfJob(JobDetailsRendererDto details)
    {
        var job = details.JobDetails?.Job;
        long[] runIds = job?.Type == typeof(IRunJob) && job.Args is [long runId, ..] ? [runId]
            : job?.Type == typeof(IRunBatchJob) && job.Args is [long[] batch, ..] ? batch
            : job?.Type == typeof(ICallbackJob) && job.Args is [_, long deliveredRun, ..] ? [deliveredRun]
            : [];
        if (runIds.Length == 0)
        {
            return new NonEscapedString("");
        }
        var links = string.Join(", ", runIds.Select(id =>
            FormattableString.Invariant($"<a href=\"{WebUtility.HtmlEncode(details.Page.Url.To($"/runs/{id}"))}\">run #{id}</a>")));
        var what = runIds.Length == 1 ? "This job carries" : FormattableString.Invariant($"This job carries {runIds.Length} runs:");
        return new NonEscapedString($"<div class=\"alert alert-info job-runs\">{what} {links}.</div>");
    }
}
