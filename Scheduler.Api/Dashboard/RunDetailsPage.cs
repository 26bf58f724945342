using Hangfire.Dashboard;
using Hangfire.Storage.Monitoring;
using Microsoft.EntityFrameworkCore;

namespace Scheduler.Api.Dashboard;

/// <summary>
/// <c>/hangfire/runs/{id}</c>: a run with its attempts, remarks, callback deliveries, response excerpt and the
/// Hangfire jobs that carried it (each links to Hangfire's job page, which links back here), the run that
/// started it (a CONTINUATION run) and the continuation runs it started.
/// </summary>
internal sealed class RunDetailsPage(Run run, string? scheduleName, List<RunDetailsPage.CarryingJob> jobs, List<RunDetailsPage.ChildRun> children)
    : DashboardPage($"Run #{run.Id}")
{
    /// <summary>A continuation run this run started.</summary>
    internal sealed record ChildRun(long Id, long ScheduleId, string? ScheduleName, RunStatus Status, DateTimeOffset DueAt);

    /// <summary>A Hangfire job of this run: what it did for the run, and its state now (null once Hangfire expired it).</summary>
    internal sealed record CarryingJob(string JobId, string Role, StateHistoryDto? State);

    public static async Task<RazorPage?> LoadAsync(DashboardContext context)
    {
        var http = context.GetHttpContext();
        var id = PageQuery.RouteId(context);
        var db = http.RequestServices.GetRequiredService<SchedulerDbContext>();
        var run = await db.Runs.AsNoTracking().Include(r => r.Attempts).Include(r => r.CallbackDeliveries)
            .AsSplitQuery().FirstOrDefaultAsync(r => r.Id == id, http.RequestAborted);
        if (run is null)
        {
            return null;
        }
        var scheduleName = await db.Schedules.Where(s => s.Id == run.ScheduleId).Select(s => s.Name).FirstOrDefaultAsync(http.RequestAborted);
        var roles = new List<(string JobId, string Role)>();
        if (run.HangfireJobId is { } runJob)
        {
            roles.Add((runJob, "executes the run (its latest job)"));
        }
        roles.AddRange(run.CallbackDeliveries.Where(d => d.HangfireJobId is not null).OrderBy(d => d.Id)
            .Select(d => (d.HangfireJobId!, Invariant($"delivers callback #{d.Id} ({WireName.Of(d.Kind)})"))));
        var monitoring = context.Storage.GetMonitoringApi();
        var jobs = roles.Select(r => new CarryingJob(r.JobId, r.Role, monitoring.JobDetails(r.JobId)?.History?.FirstOrDefault())).ToList();
        // At most one per continuation of its schedule (20), found through ix_runs_parent_run_id_schedule_id.
        var children = await db.Runs.AsNoTracking().Where(r => r.ParentRunId == id).OrderBy(r => r.Id)
            .Select(r => new ChildRun(r.Id, r.ScheduleId, r.Schedule!.Name, r.Status, r.DueAt)).ToListAsync(http.RequestAborted);
        return new RunDetailsPage(run, scheduleName, jobs, children);
    }

    protected override void Body()
    {
        if (run.Status.IsTerminal())
        {
            WriteLiteral("<p>");
            ActionButton(Invariant($"/runs/{run.Id}/retry"), "Retry (one manual attempt)", "btn-primary");
            WriteLiteral("</p>");
        }
        Facts([
            ("Schedule", ScheduleLink(run.ScheduleId, scheduleName)),
            ("Status", StatusLabel(run.Status)),
            ("Trigger", Encode(WireName.Of(run.Trigger))),
            .. (run.ParentRunId is { } parent ? new[] { ("Parent run", RunLink(parent) + " (its schedule's continuations started this run)") } : []),
            ("Due", Encode(Time(run.DueAt))),
            ("Started", Encode(Time(run.StartedAt))),
            ("Completed", Encode(Time(run.CompletedAt))),
            ("Lateness", Encode(Millis(run.LatenessMs))),
            ("Latency", Encode(Millis(run.LatencyMs))),
            ("Status code", Encode(run.StatusCode is { } code ? Invariant($"{code}") : "—")),
            ("Error type", Encode(Wire(run.ErrorType))),
            ("Error", Encode(run.ErrorMessage ?? "—")),
            ("Attempts", Encode(Invariant($"{run.AttemptCount}"))),
            ("Next attempt", Encode(Time(run.NextAttemptAt))),
            ("Response size", Encode(run.ResponseSizeBytes is { } size ? Invariant($"{size} bytes") : "—")),
            ("Callback", Encode(Wire(run.CallbackStatus))),
            // A "completion": "callback" target's run: how long it may still wait, and what the target reported.
            .. (run.CompletionDeadlineAt is null ? [] : new[]
            {
                ("Completion deadline", Encode(run.Status == RunStatus.Waiting ? Time(run.CompletionDeadlineAt) : "—")),
                ("Completion", Encode(run.CompletionMessage ?? "—")),
                ("Output", Encode(run.Output is { Length: > 2000 } output ? output[..2000] + "…" : run.Output ?? "—")),
            }),
        ]);

        WriteLiteral("<h3>Hangfire jobs</h3>");
        if (jobs.Count == 0)
        {
            WriteLiteral("<p class=\"text-muted\">No job has carried this run yet.</p>");
        }
        else
        {
            TableStart("Job", "For", "State", "Reason");
            foreach (var job in jobs)
            {
                Row($"<a href=\"{Encode(Url.JobDetails(job.JobId))}\">#{Encode(job.JobId)}</a>", Encode(job.Role),
                    job.State is { } state ? Html.StateLabel(state.StateName).ToString() : "<span class=\"text-muted\">expired</span>",
                    Encode(job.State?.Reason));
            }
            TableEnd();
        }

        WriteLiteral("<h3>Attempts</h3>");
        if (run.Attempts.Count == 0)
        {
            WriteLiteral("<p class=\"text-muted\">None yet.</p>");
        }
        else
        {
            TableStart("#", "Status", "Manual", "Worker", "Started", "Completed", "Status code", "Latency", "Error type", "Error");
            foreach (var attempt in run.Attempts.OrderBy(a => a.AttemptNumber))
            {
                Row(Encode(Invariant($"{attempt.AttemptNumber}")), Encode(WireName.Of(attempt.Status)), attempt.Manual ? "yes" : "",
                    Encode(attempt.Worker), Encode(Time(attempt.StartedAt)), Encode(Time(attempt.CompletedAt)),
                    Encode(attempt.StatusCode is { } attemptCode ? Invariant($"{attemptCode}") : "—"), Encode(Millis(attempt.LatencyMs)),
                    Encode(Wire(attempt.ErrorType)), Encode(attempt.ErrorMessage));
            }
            TableEnd();
        }

        WriteLiteral("<h3>Remarks</h3>");
        if (run.Remarks.Count == 0)
        {
            WriteLiteral("<p class=\"text-muted\">None.</p>");
        }
        else
        {
            WriteLiteral("<ul>");
            foreach (var remark in run.Remarks)
            {
                WriteLiteral($"<li>{Encode(remark)}</li>");
            }
            WriteLiteral("</ul>");
        }

        if (children.Count > 0)
        {
            WriteLiteral("<h3>Continuation runs</h3>");
            TableStart("Run", "Schedule", "Status", "Due");
            foreach (var child in children)
            {
                Row(RunLink(child.Id), ScheduleLink(child.ScheduleId, child.ScheduleName), StatusLabel(child.Status), Encode(Time(child.DueAt)));
            }
            TableEnd();
        }

        WriteLiteral("<h3>Callback deliveries</h3>");
        if (run.CallbackDeliveries.Count == 0)
        {
            WriteLiteral("<p class=\"text-muted\">None.</p>");
        }
        else
        {
            TableStart("#", "Kind", "URL", "Status", "Attempts", "Status code", "Last attempt", "Delivered", "Error");
            foreach (var delivery in run.CallbackDeliveries.OrderBy(d => d.Id))
            {
                Row(Encode(Invariant($"{delivery.Id}")), Encode(WireName.Of(delivery.Kind)), Encode(delivery.Url), Encode(WireName.Of(delivery.Status)),
                    Encode(Invariant($"{delivery.AttemptCount}")), Encode(delivery.StatusCode is { } deliveryCode ? Invariant($"{deliveryCode}") : "—"),
                    Encode(Time(delivery.LastAttemptAt)), Encode(Time(delivery.DeliveredAt)), Encode(delivery.ErrorMessage));
            }
            TableEnd();
        }

        WriteLiteral("<h3>Response excerpt</h3>");
        WriteLiteral(run.ResponseExcerpt is { Length: > 0 } excerpt
            ? $"<pre style=\"max-height:30em;overflow:auto;white-space:pre-wrap\">{Encode(excerpt)}</pre>"
            : "<p class=\"text-muted\">None kept.</p>");
    }
}
