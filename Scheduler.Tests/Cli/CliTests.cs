using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Scheduler.Tests.Cli;

/// <summary>The <c>scheduler</c> tool (Scheduler.Cli), run as a process against the real system, as an operator runs it.</summary>
public sealed partial class CliTests : SystemTestBase
{
    [Test]
    public async Task An_immediate_schedule_its_run_as_json_and_a_failed_run_retried()
    {
        // Flags: an immediate call; the tool names the run it queued.
        var created = await CliAsync("schedules", "create", "--immediate", "--url", Target.Url("/cli-ok"), "--method", "POST",
            "--header", "X-From=cli", "--body", "{\"run\": {{run_id}}}");
        Assert.That(created.ExitCode, Is.Zero, created.ToString());
        var runId = long.Parse(RunQueued().Match(created.Out).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var request = (await Target.WaitForAsync("/cli-ok", 1, Seconds(30))).Single();
        Assert.That((request.Method, request.Header("X-From"), request.Body), Is.EqualTo(("POST", "cli", $"{{\"run\": {runId}}}")));

        // runs show --json prints the API's JSON for that run.
        JsonNode? shown = null;
        await Eventually.UntilAsync(async () =>
        {
            var show = await CliAsync("runs", "show", runId.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json");
            shown = JsonNode.Parse(show.Out);
            return shown!["status"]!.GetValue<string>() == "SUCCESS";
        }, Seconds(30), "the run to succeed");
        Assert.That(shown!["id"]!.GetValue<long>(), Is.EqualTo(runId));
        Assert.That(shown["attempts"]!.AsArray(), Has.Count.EqualTo(1));

        // A raw JSON body: one attempt against a target that fails once, then recovers.
        Target.Respond("/cli-flaky", TestTarget.Sequence(TestTarget.Status(500), TestTarget.Status(200)));
        var raw = await CliAsync("schedules", "create", "--json",
            $$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/cli-flaky")}}}"}, "retry": {"max_attempts": 1}}""");
        Assert.That(raw.ExitCode, Is.Zero, raw.ToString());
        var failedId = long.Parse(RunQueued().Match(raw.Out).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        // runs list --status FAILED finds it, as JSON and as a table.
        await Eventually.UntilAsync(async () =>
        {
            var failed = await CliAsync("runs", "list", "--status", "FAILED", "--json");
            return JsonNode.Parse(failed.Out)!.AsArray().Any(r => r!["id"]!.GetValue<long>() == failedId);
        }, Seconds(30), "the run to fail");
        var table = await CliAsync("runs", "list", "--status", "FAILED");
        Assert.That(table.Out, Does.Contain("FAILED").And.Contain("http_5xx").And.Match($@"(?m)^{failedId}\s"));

        // runs retry: the second attempt succeeds.
        var retry = await CliAsync("runs", "retry", failedId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.That((retry.ExitCode, retry.Out), Is.EqualTo((0, $"Run {failedId} queued again (PENDING).\n")), retry.ToString());
        await Eventually.UntilAsync(async () => (await CliAsync("runs", "show", failedId.ToString(System.Globalization.CultureInfo.InvariantCulture))).Out
            .Contains("SUCCESS", StringComparison.Ordinal), Seconds(30), "the retried run to succeed");
    }

    [Test]
    public async Task Runs_redrive_gives_the_failed_runs_its_options_pick_one_manual_attempt()
    {
        Target.Respond("/cli-gone", TestTarget.Status(404));
        var created = await CliAsync("schedules", "create", "--immediate", "--url", Target.Url("/cli-gone"));
        var runId = long.Parse(RunQueued().Match(created.Out).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        await Eventually.UntilAsync(async () => (await CliAsync("runs", "show", runId.ToString(System.Globalization.CultureInfo.InvariantCulture))).Out
            .Contains("FAILED", StringComparison.Ordinal), Seconds(30), "the run to fail");

        var badType = await CliAsync("runs", "redrive", "--error-type", "nope");
        Assert.That((badType.ExitCode, badType.Error), Is.EqualTo((1, badType.Error)));
        Assert.That(badType.Error, Does.StartWith("error: --error-type must be one of http_4xx, "));
        var other = await CliAsync("runs", "redrive", "--error-type", "timeout");
        Assert.That((other.ExitCode, other.Out), Is.EqualTo((0, "0 run(s) queued for one manual attempt each.\n")), other.ToString());

        Target.Respond("/cli-gone", TestTarget.Status(200));
        var redrive = await CliAsync("runs", "redrive", "--status", "FAILED", "--error-type", "http_4xx",
            "--since", DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.That((redrive.ExitCode, redrive.Out), Is.EqualTo((0, "1 run(s) queued for one manual attempt each.\n")), redrive.ToString());
        await Eventually.UntilAsync(async () => (await CliAsync("runs", "show", runId.ToString(System.Globalization.CultureInfo.InvariantCulture))).Out
            .Contains("SUCCESS", StringComparison.Ordinal), Seconds(30), "the redriven run to succeed");
    }

    [Test]
    public async Task Targets_and_schedules_are_listed_and_shown_as_the_apis_json_or_for_people()
    {
        var target = await CliAsync("targets", "create", "--name", "cli-target", "--url", Target.Url("/cli-target"));
        Assert.That(target.ExitCode, Is.Zero, target.ToString());
        var targetId = Id(Regex.Match(target.Out, @"Target (\d+) created").Groups[1].Value);
        var schedule = await CliAsync("schedules", "create", "--every", "3600", "--url", Target.Url("/cli-hourly"));
        Assert.That(schedule.ExitCode, Is.Zero, schedule.ToString());
        var scheduleId = Id(Regex.Match(schedule.Out, @"Schedule (\d+) created").Groups[1].Value);

        // --json: the API's answer as it gave it.
        var targetJson = JsonNode.Parse((await CliAsync("targets", "show", targetId.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json")).Out)!;
        Assert.That((targetJson["id"]!.GetValue<long>(), targetJson["name"]!.GetValue<string>()), Is.EqualTo((targetId, "cli-target")));
        var targetsJson = JsonNode.Parse((await CliAsync("targets", "list", "--json")).Out)!.AsArray();
        Assert.That(targetsJson.Select(t => t!["id"]!.GetValue<long>()), Does.Contain(targetId));
        var scheduleJson = JsonNode.Parse((await CliAsync("schedules", "show", scheduleId.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json")).Out)!;
        Assert.That((scheduleJson["id"]!.GetValue<long>(), scheduleJson["schedule_type"]!.GetValue<string>()), Is.EqualTo((scheduleId, "INTERVAL")));
        var schedulesJson = JsonNode.Parse((await CliAsync("schedules", "list", "--json")).Out)!.AsArray();
        Assert.That(schedulesJson.Select(s => s!["id"]!.GetValue<long>()), Does.Contain(scheduleId));
        Assert.That(JsonNode.Parse((await CliAsync("jobs", "list", "--json")).Out), Is.InstanceOf<JsonArray>());

        // Without: tables and fields.
        Assert.That((await CliAsync("targets", "list")).Out, Does.Match($@"(?m)^{targetId}\s+cli-target\s+GET\s"));
        Assert.That((await CliAsync("targets", "show", targetId.ToString(System.Globalization.CultureInfo.InvariantCulture))).Out,
            Does.Contain("cli-target").And.Contain(Target.Url("/cli-target")));
        Assert.That((await CliAsync("schedules", "list")).Out, Does.Match($@"(?m)^{scheduleId}\s.*INTERVAL\s+ACTIVE"));
        Assert.That((await CliAsync("schedules", "show", scheduleId.ToString(System.Globalization.CultureInfo.InvariantCulture))).Out,
            Does.Contain("INTERVAL").And.Contain("ACTIVE"));
    }

    private static long Id(string text) => long.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

    [Test]
    public async Task Errors_print_the_problem_and_exit_non_zero()
    {
        var missing = await CliAsync("runs", "show", "987654");
        Assert.That((missing.ExitCode, missing.Out), Is.EqualTo((1, "")));
        Assert.That(missing.Error, Does.Contain("404").And.Contain("Run 987654 not found"));

        var invalid = await CliAsync("schedules", "create", "--every", "0", "--url", Target.Url("/never"));
        Assert.That(invalid.ExitCode, Is.EqualTo(1));
        Assert.That(invalid.Error, Does.Contain("interval_seconds"), "the field error is printed");

        var status = await CliAsync("runs", "list", "--status", "BROKEN");
        Assert.That((status.ExitCode, status.Error), Is.EqualTo((1, "error: --status must be one of PENDING, RUNNING, WAITING, SUCCESS, FAILED, TIMEOUT, DNS_ERROR, CONNECTION_ERROR, SKIPPED, CANCELLED (got 'BROKEN').\n")));

        var unreachable = await CliAsync(new Dictionary<string, string> { ["SCHEDULER_URL"] = "http://127.0.0.1:9" }, "jobs", "list");
        Assert.That((unreachable.ExitCode, unreachable.Error), Is.EqualTo((1, unreachable.Error)));
        Assert.That(unreachable.Error, Does.StartWith("error: the API at http://127.0.0.1:9 did not answer"));
    }

    private sealed record CliResult(int ExitCode, string Out, string Error)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Error}";
    }

    private Task<CliResult> CliAsync(params string[] arguments) => CliAsync(new Dictionary<string, string>(), arguments);

    private async Task<CliResult> CliAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var directory = BuildOutput.CliDirectory;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(directory, "scheduler.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["SCHEDULER_URL"] = Api.BaseAddress!.ToString().TrimEnd('/');
        start.Environment["SCHEDULER_API_KEY"] = TestKeys.Admin;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Seconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"scheduler {string.Join(' ', arguments)} did not finish in 60 s.");
        }
        return new CliResult(process.ExitCode, await output, await error);
    }

    [GeneratedRegex(@"Run (\d+) queued")]
    private static partial Regex RunQueued();
}
