using System.CommandLine;
using System.Globalization;
using Scheduler.Client;

namespace Scheduler.Cli;

/// <summary>The command tree: <c>schedules</c>, <c>targets</c>, <c>runs</c> and <c>jobs</c>.</summary>
internal static partial class Commands
{
    public static RootCommand Build(TextWriter output, TextWriter error)
    {
        var root = new RootCommand(
            "Scheduler from the terminal. SCHEDULER_URL (default http://127.0.0.1:8080) and SCHEDULER_API_KEY "
            + "(default: the key ./run keeps in $SCHEDULER_DATA_DIR/api-key or .data/api-key) say where and how.");
        var context = new CommandContext(output, error);
        root.Subcommands.Add(Schedules(context));
        root.Subcommands.Add(Targets(context));
        root.Subcommands.Add(Runs(context));
        root.Subcommands.Add(Jobs(context));
        return root;
    }

    internal static Option<bool> JsonOutput() => new("--json") { Description = "Print the API's JSON exactly as it answered." };

    internal static Argument<long> Id(string what) => new("id") { Description = $"The {what}'s id." };

    private static Command Jobs(CommandContext context)
    {
        var jobs = new Command("jobs", "The named jobs a schedule may run.");
        var json = JsonOutput();
        var list = new Command("list", "List the named jobs.") { json };
        context.ReadAction(list, json, _ => "/jobs", async (_, session, token) =>
            Output.Table(session.Out, ["NAME", "DESCRIPTION"],
                (await session.Api.ListJobsAsync(token)).Select(j => (IReadOnlyList<string>)[j.Name, j.Description ?? ""])));
        jobs.Subcommands.Add(list);
        return jobs;
    }

    /// <summary>Parses <c>K=V</c> pairs (<c>--header</c>).</summary>
    internal static Dictionary<string, string>? Pairs(string[]? values, string option)
    {
        if (values is not { Length: > 0 })
        {
            return null;
        }
        var pairs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var value in values)
        {
            var split = value.Split('=', 2);
            if (split.Length != 2 || split[0].Trim().Length == 0)
            {
                throw new CliException($"{option} takes NAME=VALUE (got '{value}').");
            }
            pairs[split[0].Trim()] = split[1];
        }
        return pairs;
    }

    internal static string Query(params (string Name, object? Value)[] parameters)
    {
        var given = parameters.Where(p => p.Value is not null)
            .Select(p => $"{p.Name}={Uri.EscapeDataString(Convert.ToString(p.Value, CultureInfo.InvariantCulture)!)}").ToList();
        return given.Count == 0 ? "" : "?" + string.Join('&', given);
    }
}

/// <summary>Runs actions with a session, and turns every failure into its message on stderr and exit code 1.</summary>
internal sealed class CommandContext(TextWriter output, TextWriter error)
{
    public void Action(Command command, Func<ParseResult, Session, CancellationToken, Task> action)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var connection = Connection.FromEnvironment(Environment.GetEnvironmentVariable, Environment.CurrentDirectory);
                await using var session = new Session(connection, output);
                await action(parse, session, cancellationToken);
                return 0;
            }
            catch (SchedulerApiException problem)
            {
                await error.WriteLineAsync($"error: {problem.Message}");
                return 1;
            }
            catch (CliException mistake)
            {
                await error.WriteLineAsync($"error: {mistake.Message}");
                return 1;
            }
            catch (Exception unreachable) when (unreachable is HttpRequestException || unreachable.InnerException is HttpRequestException)
            {
                // Refit wraps a failed connection in its ApiRequestException.
                await error.WriteLineAsync($"error: the API at {Connection.Describe()} did not answer ({(unreachable.InnerException ?? unreachable).Message}).");
                return 1;
            }
            catch (Exception timeout) when (timeout is TimeoutException or Polly.Timeout.TimeoutRejectedException)
            {
                await error.WriteLineAsync($"error: the API did not answer in time ({timeout.Message}).");
                return 1;
            }
        });
    }

    /// <summary>
    /// A command that reads: with <paramref name="json"/> it prints the API's answer to <paramref name="path"/> exactly as
    /// given; without, <paramref name="show"/> shows it for people.
    /// </summary>
    public void ReadAction(Command command, Option<bool> json, Func<ParseResult, string> path, Func<ParseResult, Session, CancellationToken, Task> show) =>
        Action(command, async (parse, session, cancellationToken) =>
        {
            if (parse.GetValue(json))
            {
                session.Out.WriteLine(await session.GetRawAsync(path(parse), cancellationToken));
                return;
            }
            await show(parse, session, cancellationToken);
        });
}
