using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// The repository's <c>./run</c>, as a user starts it, against the test database (<c>SCHEDULER_DATABASE</c>)
/// with its own port and data directory. Its output is kept for assertions; disposing it sends SIGTERM and,
/// if it has not stopped after a while, kills its whole process tree.
/// </summary>
public sealed partial class RunScript : IAsyncDisposable
{
    private const int SigKill = 9;
    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly ProcessOutput _output;
    private readonly DirectoryInfo _dataDirectory;

    private RunScript(Process process, DirectoryInfo dataDirectory, Uri baseAddress)
    {
        _process = process;
        _dataDirectory = dataDirectory;
        BaseAddress = baseAddress;
        _output = new ProcessOutput(process);
    }

    public Uri BaseAddress { get; }

    public string Output => _output.Text;

    /// <summary>Lines <c>./run</c> wrote itself (<c>[run] …</c>), without the terminal's bold.</summary>
    public IReadOnlyList<string> RunLines =>
        _output.Lines.Select(line => AnsiEscape().Replace(line, "")).Where(line => line.StartsWith("[run] ", StringComparison.Ordinal)).ToList();

    /// <summary>Starts <c>./run</c> with <paramref name="workers"/> workers and the given extra environment.</summary>
    public static RunScript Start(int workers, IReadOnlyDictionary<string, string> settings)
    {
        var root = BuildOutput.RepositoryRoot;
        var port = FreePorts.Block(workers + 1);
        var dataDirectory = Directory.CreateTempSubdirectory("scheduler-run-test-");
        var info = new ProcessStartInfo("bash", [Path.Combine(root, "run")])
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The test host's MSBuild variables would steer the build ./run does; a user's shell has none.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(name);
        }
        info.Environment["SCHEDULER_DATABASE"] = TestAssemblySetup.ConnectionString;
        info.Environment["SCHEDULER_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        info.Environment["SCHEDULER_WORKERS"] = workers.ToString(CultureInfo.InvariantCulture);
        info.Environment["SCHEDULER_DATA_DIR"] = dataDirectory.FullName;
        info.Environment["SCHEDULER_API_KEY"] = TestKeys.Admin;
        info.Environment["SCHEDULER_CONFIGURATION"] = BuildOutput.Configuration;
        info.Environment["Outbound__AllowPrivateNetworks"] = "true";
        info.Environment["Limits__RequestsPerSecond"] = "0";
        // The processes' warm-ups have their own tests (ApiWarmUpTests, WorkerWarmUpTests); a worker killed here during
        // its warm-up would leave its database for the next start to drop 10 minutes later.
        info.Environment["WarmUp__Seconds"] = "0";
        foreach (var (key, value) in settings)
        {
            info.Environment[key] = value;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start ./run.");
        return new RunScript(process, dataDirectory, new Uri($"http://127.0.0.1:{port}"));
    }

    /// <summary>Waits until <paramref name="count"/> lines contain <paramref name="text"/>.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout, int count = 1) =>
        await Eventually.UntilAsync(() =>
            _output.Count(text) >= count
            || (_process.HasExited ? throw new InvalidOperationException($"./run exited with code {_process.ExitCode}:{Environment.NewLine}{Output}") : false),
            timeout, $"./run to print '{text}' {count} time(s)");

    /// <summary>The pids <c>./run</c> said it started <paramref name="name"/> with, in order.</summary>
    public IReadOnlyList<int> Pids(string name) =>
        RunLines.Select(line => StartedLine().Match(line))
            .Where(match => match.Success && match.Groups["name"].Value == name)
            .Select(match => int.Parse(match.Groups["pid"].Value, CultureInfo.InvariantCulture))
            .ToList();

    /// <summary>Waits until <paramref name="name"/> has been started <paramref name="times"/> times, and returns its last pid.</summary>
    public async Task<int> WaitForStartAsync(string name, int times, TimeSpan timeout)
    {
        await Eventually.UntilAsync(() => Pids(name).Count >= times || _process.HasExited, timeout, $"{name} to be started {times} time(s)");
        return Pids(name).Count >= times ? Pids(name)[^1] : throw new InvalidOperationException($"./run exited:{Environment.NewLine}{Output}");
    }

    /// <summary>SIGTERM to <c>./run</c> itself, as a service manager or <c>kill</c> sends it.</summary>
    public void Terminate() => _ = SchedulerProcess.NativeMethods.Kill(_process.Id, SigTerm);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL to a process <c>./run</c> started: it dies at once, as in an out-of-memory kill.</summary>
    public static void KillProcess(int pid) => _ = SchedulerProcess.NativeMethods.Kill(pid, SigKill);

    public static bool IsAlive(int pid) => SchedulerProcess.NativeMethods.Kill(pid, 0) == 0;

    public async ValueTask DisposeAsync()
    {
        Terminate();
        try
        {
            await WaitForExitAsync(TimeSpan.FromSeconds(60));
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
        _dataDirectory.Delete(recursive: true);
    }

    [GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial Regex AnsiEscape();

    [GeneratedRegex(@"^\[run\] (?<name>\S+) started(?: again)? \(pid (?<pid>\d+)\)$")]
    private static partial Regex StartedLine();
}
