using System.CommandLine;
using Scheduler.Client;

namespace Scheduler.Cli;

internal static partial class Commands
{
    private static Command Targets(CommandContext context)
    {
        var targets = new Command("targets", "Create, list, show and delete stored targets.");

        var name = new Option<string?>("--name") { Description = "Its unique name." };
        var url = new Option<string?>("--url") { Description = "The URL to call." };
        var method = new Option<string?>("--method") { Description = "The HTTP method (default GET)." };
        var header = new Option<string[]>("--header") { Description = "A request header, NAME=VALUE; repeatable.", Arity = ArgumentArity.ZeroOrMore };
        var body = new Option<string?>("--body") { Description = "The request body template." };
        var timeout = new Option<int?>("--timeout") { Description = "Seconds before a call is abandoned (default 30).", HelpName = "SECONDS" };
        var secret = new Option<string?>("--signing-secret") { Description = "Sign calls (Scheduler-Signature) with this secret." };
        var raw = new Option<string?>("--json") { Description = "The whole POST /targets body as JSON, instead of the options above.", HelpName = "BODY" };
        var create = new Command("create", "Create a target from options, or from a JSON body (--json).") { name, url, method, header, body, timeout, secret, raw };
        create.Validators.Add(result =>
        {
            if (result.GetValue(raw) is null && (result.GetValue(name) is null || result.GetValue(url) is null))
            {
                result.AddError("Give --name and --url (or the body with --json).");
            }
        });
        context.Action(create, async (parse, session, token) =>
        {
            var target = parse.GetValue(raw) is { } json
                ? await session.PostRawAsync<Target>("/targets", json, token)
                : await session.Api.CreateTargetAsync(new TargetRequest
                {
                    Name = parse.GetValue(name),
                    Url = parse.GetValue(url),
                    Method = parse.GetValue(method),
                    Headers = Pairs(parse.GetValue(header), "--header"),
                    BodyTemplate = parse.GetValue(body),
                    TimeoutSeconds = parse.GetValue(timeout),
                    SigningSecret = parse.GetValue(secret),
                }, token);
            session.Out.WriteLine($"Target {target.Id} created: {target.Name}, {target.Method} {target.Url}.");
        });
        targets.Subcommands.Add(create);

        var limit = new Option<int?>("--limit") { Description = "At most this many (default 100)." };
        var listJson = JsonOutput();
        var list = new Command("list", "List stored targets by id.") { limit, listJson };
        context.ReadAction(list, listJson, parse => "/targets" + Query(("limit", parse.GetValue(limit))), async (parse, session, token) =>
            Output.Table(session.Out, ["ID", "NAME", "METHOD", "URL", "TIMEOUT"],
                (await session.Api.ListTargetsAsync(parse.GetValue(limit), cancellationToken: token)).Select(t =>
                    (IReadOnlyList<string>)[Output.Of(t.Id), t.Name ?? "", t.Method, t.Url, $"{t.TimeoutSeconds} s"])));
        targets.Subcommands.Add(list);

        var showId = Id("target");
        var showJson = JsonOutput();
        var show = new Command("show", "Show a target.") { showId, showJson };
        context.ReadAction(show, showJson, parse => $"/targets/{parse.GetValue(showId)}", async (parse, session, token) =>
        {
            var t = await session.Api.GetTargetAsync(parse.GetValue(showId), token);
            Output.Fields(session.Out, [
                ("id", Output.Of(t.Id)), ("name", t.Name), ("method", t.Method), ("url", t.Url),
                ("headers", string.Join(", ", t.Headers.Select(h => $"{h.Key}: {h.Value}"))), ("body", t.BodyTemplate),
                ("timeout", $"{t.TimeoutSeconds} s"), ("signed", t.SigningSecret is null ? "no" : "yes"), ("created", Output.Time(t.CreatedAt))]);
        });
        targets.Subcommands.Add(show);

        var deleteId = Id("target");
        var delete = new Command("delete", "Delete a target no live schedule uses.") { deleteId };
        context.Action(delete, async (parse, session, token) =>
        {
            await session.Api.DeleteTargetAsync(parse.GetValue(deleteId), token);
            session.Out.WriteLine($"Target {parse.GetValue(deleteId)} deleted.");
        });
        targets.Subcommands.Add(delete);
        return targets;
    }
}
