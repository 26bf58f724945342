using System.CommandLine;
using Scheduler.Client;

namespace Scheduler.Cli;

internal static partial class Commands
{
    private static Command Schedules(CommandContext context)
    {
        var schedules = new Command("schedules", "Create, list, pause, resume, trigger and delete schedules.");
        schedules.Subcommands.Add(CreateSchedule(context));

        var limit = new Option<int?>("--limit") { Description = "At most this many (default 100)." };
        var listJson = JsonOutput();
        var list = new Command("list", "List schedules by id.") { limit, listJson };
        context.ReadAction(list, listJson, parse => "/schedules" + Query(("limit", parse.GetValue(limit))), async (parse, session, token) =>
        {
            var rows = await session.Api.ListSchedulesAsync(parse.GetValue(limit), cancellationToken: token);
            Output.Table(session.Out, ["ID", "NAME", "TYPE", "STATUS", "CADENCE", "NEXT RUN (UTC)", "LAST RUN (UTC)"],
                rows.Select(s => (IReadOnlyList<string>)[Output.Of(s.Id), s.Name ?? "", WireNames.NameOf(s.ScheduleType),
                    WireNames.NameOf(s.Status), Cadence(s), Output.Time(s.NextRunAt), Output.Time(s.LastRunAt)]));
        });
        schedules.Subcommands.Add(list);

        var showId = Id("schedule");
        var showJson = JsonOutput();
        var show = new Command("show", "Show a schedule.") { showId, showJson };
        context.ReadAction(show, showJson, parse => $"/schedules/{parse.GetValue(showId)}", async (parse, session, token) =>
        {
            var s = await session.Api.GetScheduleAsync(parse.GetValue(showId), token);
            Output.Fields(session.Out, [
                ("id", Output.Of(s.Id)), ("name", s.Name), ("type", WireNames.NameOf(s.ScheduleType)), ("status", WireNames.NameOf(s.Status)),
                ("cadence", Cadence(s)), ("target", s.TargetId is { } t ? $"target {t}" : s.Target is { } inline ? $"{inline.Method} {inline.Url}" : null),
                ("job", s.JobName), ("overlap", WireNames.NameOf(s.OverlapPolicy)), ("catch-up", WireNames.NameOf(s.CatchUpPolicy)),
                ("next run", Output.Time(s.NextRunAt)), ("last run", Output.Time(s.LastRunAt)), ("created", Output.Time(s.CreatedAt)),
                ("remarks", string.Join(" | ", s.Remarks))]);
        });
        schedules.Subcommands.Add(show);

        schedules.Subcommands.Add(ScheduleChange(context, "pause", "Pause an ACTIVE schedule.", (api, id, token) => api.PauseScheduleAsync(id, token)));
        schedules.Subcommands.Add(ScheduleChange(context, "resume", "Resume a PAUSED schedule from its next occurrence.", (api, id, token) => api.ResumeScheduleAsync(id, token)));

        var triggerId = Id("schedule");
        var trigger = new Command("trigger", "Run a schedule once now, outside its cadence.") { triggerId };
        context.Action(trigger, async (parse, session, token) =>
        {
            var run = await session.Api.TriggerScheduleAsync(parse.GetValue(triggerId), token);
            session.Out.WriteLine($"Run {run.Id} of schedule {run.ScheduleId} queued ({WireNames.NameOf(run.Status)}).");
        });
        schedules.Subcommands.Add(trigger);

        var deleteId = Id("schedule");
        var delete = new Command("delete", "Delete a schedule: its pending runs are cancelled, its history stays.") { deleteId };
        context.Action(delete, async (parse, session, token) =>
        {
            await session.Api.DeleteScheduleAsync(parse.GetValue(deleteId), token);
            session.Out.WriteLine($"Schedule {parse.GetValue(deleteId)} deleted.");
        });
        schedules.Subcommands.Add(delete);
        return schedules;
    }

    private static Command ScheduleChange(CommandContext context, string name, string description, Func<ISchedulerApi, long, CancellationToken, Task<Schedule>> change)
    {
        var id = Id("schedule");
        var command = new Command(name, description) { id };
        context.Action(command, async (parse, session, token) =>
        {
            var schedule = await change(session.Api, parse.GetValue(id), token);
            session.Out.WriteLine($"Schedule {schedule.Id} is {WireNames.NameOf(schedule.Status)}{NextRun(schedule)}.");
        });
        return command;
    }

    private static Command CreateSchedule(CommandContext context)
    {
        var immediate = new Option<bool>("--immediate") { Description = "Run once, now." };
        var once = new Option<string?>("--once") { Description = "Run once at AT: ISO-8601, Unix seconds or relative (+90s, +10m, +6h, +2d).", HelpName = "AT" };
        var every = new Option<int?>("--every") { Description = "Run every SECONDS, from now.", HelpName = "SECONDS" };
        var cron = new Option<string?>("--cron") { Description = "Run on a cron expression (5 fields, 6 with seconds, or a preset such as EVERY_HOUR).", HelpName = "EXPR" };
        var timeZone = new Option<string?>("--time-zone") { Description = "The cron expression's IANA time zone (default UTC)." };
        var url = new Option<string?>("--url") { Description = "The URL to call (an inline target)." };
        var method = new Option<string?>("--method") { Description = "The HTTP method (default GET)." };
        var header = new Option<string[]>("--header") { Description = "A request header, NAME=VALUE; repeatable.", Arity = ArgumentArity.ZeroOrMore };
        var body = new Option<string?>("--body") { Description = "The request body ({{run_id}}, {{due_at}}, {{idempotency_key}}... are filled in)." };
        var targetId = new Option<long?>("--target-id") { Description = "Call a stored target instead of --url." };
        var name = new Option<string?>("--name") { Description = "A label for the schedule." };
        var raw = new Option<string?>("--json") { Description = "The whole POST /schedules body as JSON, instead of the options above.", HelpName = "BODY" };
        var create = new Command("create", "Create a schedule from options, or from a JSON body (--json).")
        {
            immediate, once, every, cron, timeZone, url, method, header, body, targetId, name, raw,
        };
        create.Validators.Add(result =>
        {
            var kinds = new[] { result.GetValue(immediate), result.GetValue(once) is not null, result.GetValue(every) is not null, result.GetValue(cron) is not null }.Count(k => k);
            if (result.GetValue(raw) is not null)
            {
                if (kinds > 0 || result.GetValue(url) is not null || result.GetValue(targetId) is not null)
                {
                    result.AddError("--json is the whole body: give it alone.");
                }
            }
            else if (kinds != 1)
            {
                result.AddError("Give exactly one of --immediate, --once AT, --every SECONDS, --cron EXPR (or the body with --json).");
            }
            else if ((result.GetValue(url) is null) == (result.GetValue(targetId) is null))
            {
                result.AddError("Give --url (with --method, --header, --body) or --target-id.");
            }
        });
        context.Action(create, async (parse, session, token) =>
        {
            Schedule schedule;
            if (parse.GetValue(raw) is { } json)
            {
                schedule = await session.PostRawAsync<Schedule>("/schedules", json, token);
            }
            else
            {
                var type = parse.GetValue(immediate) ? ScheduleType.Immediate
                    : parse.GetValue(once) is not null ? ScheduleType.Once
                    : parse.GetValue(every) is not null ? ScheduleType.Interval
                    : ScheduleType.Cron;
                schedule = await session.Api.CreateScheduleAsync(new ScheduleRequest
                {
                    Name = parse.GetValue(name),
                    ScheduleType = type,
                    RunAt = parse.GetValue(once),
                    IntervalSeconds = parse.GetValue(every),
                    CronExpression = parse.GetValue(cron),
                    TimeZone = parse.GetValue(timeZone),
                    TargetId = parse.GetValue(targetId),
                    Target = parse.GetValue(url) is { } address
                        ? new TargetRequest { Url = address, Method = parse.GetValue(method), Headers = Pairs(parse.GetValue(header), "--header"), Body = parse.GetValue(body) }
                        : null,
                }, token);
            }
            session.Out.WriteLine($"Schedule {schedule.Id} created: {WireNames.NameOf(schedule.ScheduleType)}, {WireNames.NameOf(schedule.Status)}{NextRun(schedule)}.");
            if (schedule.ScheduleType == ScheduleType.Immediate)
            {
                // An IMMEDIATE schedule's run is committed before the API answers: name it, for `runs show`.
                foreach (var run in await session.Api.ListRunsAsync(new RunFilter { ScheduleId = schedule.Id }, token))
                {
                    session.Out.WriteLine($"Run {run.Id} queued ({WireNames.NameOf(run.Status)}).");
                }
            }
        });
        return create;
    }

    private static string NextRun(Schedule s) => s.NextRunAt is { } next ? $", next run {Output.Time(next)} UTC" : "";

    private static string Cadence(Schedule s) => s.ScheduleType switch
    {
        ScheduleType.Immediate => "now",
        ScheduleType.Once => $"at {Output.Time(s.RunAt)}",
        ScheduleType.Interval => $"every {s.IntervalSeconds} s",
        ScheduleType.Window => $"every {s.IntervalSeconds} s until {Output.Time(s.EndAt)}",
        ScheduleType.Cron => $"{s.CronExpression} ({s.TimeZone ?? "UTC"})",
        _ => "",
    };
}
