using System.CommandLine;
using Scheduler.Client;

namespace Scheduler.Cli;

internal static partial class Commands
{
    private static readonly string[] RunColumns = ["ID", "SCHEDULE", "STATUS", "TRIGGER", "DUE (UTC)", "LATENESS", "HTTP", "LATENCY", "ATTEMPTS", "ERROR"];

    /// <summary>GET /runs with the filter as its query, as the typed client sends it.</summary>
    private static string RunsPath(RunFilter filter) =>
        "/runs" + Query(("schedule_id", filter.ScheduleId), ("status_filter", filter.Status is { } s ? WireNames.NameOf(s) : null),
            ("start_time", filter.StartTime), ("end_time", filter.EndTime), ("limit", filter.Limit));

    private static Command Runs(CommandContext context)
    {
        var runs = new Command("runs", "List, show, retry, redrive and watch runs.");

        var schedule = new Option<long?>("--schedule") { Description = "Runs of this schedule only.", HelpName = "ID" };
        var status = new Option<string?>("--status") { Description = $"Runs in this state only: {string.Join(", ", WireNames.Values<RunStatus>())}." };
        var since = new Option<string?>("--since") { Description = "Runs due at or after this time: ISO-8601, Unix seconds or relative (-1h)." };
        var until = new Option<string?>("--until") { Description = "Runs due at or before this time." };
        var limit = new Option<int?>("--limit") { Description = "At most this many, latest due first (default 100)." };
        var listJson = JsonOutput();
        var list = new Command("list", "List runs, latest due first.") { schedule, status, since, until, limit, listJson };
        RunFilter Filter(ParseResult parse) => new()
        {
            ScheduleId = parse.GetValue(schedule),
            Status = StatusOf(parse.GetValue(status)),
            StartTime = parse.GetValue(since),
            EndTime = parse.GetValue(until),
            Limit = parse.GetValue(limit),
        };
        context.ReadAction(list, listJson, parse => RunsPath(Filter(parse)),
            async (parse, session, token) => Output.Table(session.Out, RunColumns, (await session.Api.ListRunsAsync(Filter(parse), token)).Select(RunRow)));
        runs.Subcommands.Add(list);

        var showId = Id("run");
        var showJson = JsonOutput();
        var show = new Command("show", "Show a run with its attempts and callback deliveries.") { showId, showJson };
        context.ReadAction(show, showJson, parse => $"/runs/{parse.GetValue(showId)}", async (parse, session, token) =>
        {
            var run = await session.Api.GetRunAsync(parse.GetValue(showId), token);
            Output.Fields(session.Out, [
                ("id", Output.Of(run.Id)), ("schedule", Output.Of(run.ScheduleId)), ("status", WireNames.NameOf(run.Status)),
                ("trigger", WireNames.NameOf(run.Trigger)), ("due", Output.Time(run.DueAt)), ("started", Output.Time(run.StartedAt)),
                ("completed", Output.Time(run.CompletedAt)), ("lateness", Output.Ms(run.LatenessMs)), ("latency", Output.Ms(run.LatencyMs)),
                ("http status", Output.Of(run.StatusCode)), ("error", run.ErrorType is { } e ? $"{WireNames.NameOf(e)}: {run.ErrorMessage}" : null),
                ("next attempt", run.NextAttemptAt is null ? null : Output.Time(run.NextAttemptAt)), ("response", Output.Excerpt(run.ResponseExcerpt)),
                ("remarks", string.Join(" | ", run.Remarks))]);
            session.Out.WriteLine();
            Output.Table(session.Out, ["ATTEMPT", "STATUS", "MANUAL", "STARTED (UTC)", "HTTP", "LATENCY", "ERROR"],
                (run.Attempts ?? []).Select(a => (IReadOnlyList<string>)[Output.Of(a.AttemptNumber), WireNames.NameOf(a.Status), a.Manual ? "yes" : "",
                    Output.Time(a.StartedAt), Output.Of(a.StatusCode), Output.Ms(a.LatencyMs), a.ErrorType is { } t ? WireNames.NameOf(t) : ""]));
            if (run.CallbackDeliveries is { Count: > 0 } deliveries)
            {
                session.Out.WriteLine();
                Output.Table(session.Out, ["CALLBACK", "KIND", "STATUS", "ATTEMPTS", "HTTP", "URL"],
                    deliveries.Select(d => (IReadOnlyList<string>)[Output.Of(d.Id), WireNames.NameOf(d.Kind), WireNames.NameOf(d.Status),
                        Output.Of(d.AttemptCount), Output.Of(d.StatusCode), d.Url]));
            }
        });
        runs.Subcommands.Add(show);

        var retryId = Id("run");
        var retry = new Command("retry", "Make another attempt of a finished run now (recorded as manual).") { retryId };
        context.Action(retry, async (parse, session, token) =>
        {
            var run = await session.Api.RetryRunAsync(parse.GetValue(retryId), token);
            session.Out.WriteLine($"Run {run.Id} queued again ({WireNames.NameOf(run.Status)}).");
        });
        runs.Subcommands.Add(retry);

        runs.Subcommands.Add(Redrive(context));

        runs.Subcommands.Add(Watch(context));
        return runs;
    }

    private static Command Redrive(CommandContext context)
    {
        var schedule = new Option<long?>("--schedule") { Description = "Runs of this schedule only.", HelpName = "ID" };
        var status = new Option<string?>("--status") { Description = "Runs ended in this state only: FAILED, TIMEOUT, DNS_ERROR or CONNECTION_ERROR." };
        var since = new Option<string?>("--since") { Description = "Runs due at or after this time: ISO-8601 or Unix seconds." };
        var until = new Option<string?>("--until") { Description = "Runs due at or before this time." };
        var errorType = new Option<string?>("--error-type") { Description = $"Runs whose last attempt failed so: {string.Join(", ", WireNames.Values<ErrorType>())}." };
        var redrive = new Command("redrive",
            "Give every run that ended unsuccessfully and was not retried, among those the options pick, one manual attempt now (admin key; at most the server's Limits:MaxRedriveRuns a call).")
            { schedule, status, since, until, errorType };
        context.Action(redrive, async (parse, session, token) =>
        {
            var type = parse.GetValue(errorType);
            var filter = new RedriveFilter
            {
                ScheduleId = parse.GetValue(schedule),
                Status = StatusOf(parse.GetValue(status)),
                StartTime = parse.GetValue(since),
                EndTime = parse.GetValue(until),
                ErrorType = type is null ? null : WireNames.TryParse<ErrorType>(type, out var parsed) ? parsed
                    : throw new CliException($"--error-type must be one of {string.Join(", ", WireNames.Values<ErrorType>())} (got '{type}')."),
            };
            var result = await session.Api.RedriveRunsAsync(filter, token);
            session.Out.WriteLine(result.LimitReached
                ? $"{result.Queued} run(s) queued for one manual attempt each; the server's limit stopped it: run it again for more."
                : $"{result.Queued} run(s) queued for one manual attempt each.");
        });
        return redrive;
    }

    private static Command Watch(CommandContext context)
    {
        var schedule = new Option<long?>("--schedule") { Description = "Runs of this schedule only.", HelpName = "ID" };
        var interval = new Option<double>("--interval") { Description = "Seconds between polls (default 1).", DefaultValueFactory = _ => 1 };
        var watch = new Command("watch", "Follow runs live: each new run and each change of status, with its lateness, until Ctrl+C.") { schedule, interval };
        context.Action(watch, async (parse, session, token) =>
        {
            var seconds = parse.GetValue(interval);
            if (seconds is < 0.1 or > 3600)
            {
                throw new CliException("--interval must be between 0.1 and 3600 seconds.");
            }
            var filter = new RunFilter { ScheduleId = parse.GetValue(schedule), Limit = 100 };
            var seen = new Dictionary<long, RunStatus>();
            foreach (var run in await session.Api.ListRunsAsync(filter, token))
            {
                seen[run.Id] = run.Status;
            }
            session.Out.WriteLine($"Watching runs{(filter.ScheduleId is { } id ? $" of schedule {id}" : "")} ({seen.Count} already there); Ctrl+C stops.");
            session.Out.WriteLine(WatchLine(RunColumns));
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(seconds));
            try
            {
                while (await timer.WaitForNextTickAsync(token))
                {
                    // Oldest first, so that lines appear in the order runs were due.
                    foreach (var run in (await session.Api.ListRunsAsync(filter, token)).OrderBy(r => r.DueAt).ThenBy(r => r.Id))
                    {
                        if (!seen.TryGetValue(run.Id, out var before) || before != run.Status)
                        {
                            seen[run.Id] = run.Status;
                            session.Out.WriteLine(WatchLine(RunRow(run)));
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Ctrl+C: a normal end.
            }
        });
        return watch;
    }

    // Fixed widths: a live stream cannot measure the rows to come.
    private static readonly int[] WatchWidths = [8, 8, 16, 9, 19, 10, 4, 10, 8, 0];

    private static string WatchLine(IReadOnlyList<string> cells) =>
        string.Join("  ", cells.Select((c, i) => c.PadRight(WatchWidths[i]))).TrimEnd();

    private static RunStatus? StatusOf(string? text) =>
        text is null ? null
        : WireNames.TryParse<RunStatus>(text, out var status) ? status
        : throw new CliException($"--status must be one of {string.Join(", ", WireNames.Values<RunStatus>())} (got '{text}').");

    private static IReadOnlyList<string> RunRow(Run r) =>
    [
        Output.Of(r.Id), Output.Of(r.ScheduleId), WireNames.NameOf(r.Status), WireNames.NameOf(r.Trigger), Output.Time(r.DueAt),
        Output.Ms(r.LatenessMs), Output.Of(r.StatusCode), Output.Ms(r.LatencyMs), Output.Of(r.AttemptCount),
        r.ErrorType is { } e ? WireNames.NameOf(e) : "",
    ];
}
