using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// A real API or worker process (<c>dotnet Scheduler.*.dll</c>, as built), started against the test
/// database. Its output is kept for assertions and dumped when a test fails. Every process started is
/// killed when the run ends, whatever happened.
/// </summary>
public sealed partial class SchedulerProcess : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<int, Process> s_started = new();
    private readonly Process _process;
    private readonly ProcessOutput _output;

    private SchedulerProcess(string name, Process process, Uri? baseAddress)
    {
        Name = name;
        _process = process;
        BaseAddress = baseAddress;
        _output = new ProcessOutput(process);
    }

    public string Name { get; }

    /// <summary>The API's address, or a worker's health port (<c>/health/live</c>, <c>/health/ready</c>).</summary>
    public Uri? BaseAddress { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output => _output.Text;

    /// <summary>The lines printed so far, in order (a count of them marks a point in the log).</summary>
    public IReadOnlyList<string> Lines => _output.Lines;

    /// <summary>Starts the API on a free port and waits until <c>/health/ready</c> answers 200.</summary>
    public static async Task<SchedulerProcess> StartApiAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var port = FreePorts.One();
        var environment = new Dictionary<string, string>(settings ?? new Dictionary<string, string>())
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        };
        var process = Start("api", BuildOutput.ApiDirectory, "Scheduler.Api.dll", [], environment, new Uri($"http://127.0.0.1:{port}"));
        using var http = SchedulerApiExtensions.CreateHttpClient(process.BaseAddress!);
        await process.WaitAsync(async () =>
        {
            try
            {
                return (await http.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException)
            {
                return false;
            }
        }, "the API to be ready");
        return process;
    }

    /// <summary>Starts a worker and waits until its Hangfire server has started all its dispatchers.</summary>
    public static async Task<SchedulerProcess> StartWorkerAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var process = Start("worker", BuildOutput.WorkerDirectory, "Scheduler.Worker.dll", [], settings ?? new Dictionary<string, string>(), null);
        await process.WaitForOutputAsync("all the dispatchers started", TimeSpan.FromSeconds(60));
        return process;
    }

    /// <summary>Starts a process without waiting for it to be ready (for processes expected to fail).</summary>
    public static SchedulerProcess StartRaw(string name, string[] arguments, IReadOnlyDictionary<string, string> settings) =>
        name == "api"
            ? Start(name, BuildOutput.ApiDirectory, "Scheduler.Api.dll", arguments, settings, null)
            : Start(name, BuildOutput.WorkerDirectory, "Scheduler.Worker.dll", arguments, settings, null);

    public async Task WaitForOutputAsync(string text, TimeSpan timeout) =>
        await Eventually.UntilAsync(() => _output.Count(text) > 0 || ThrowIfExited(),
            timeout, $"{Name} to print '{text}'");

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the process dies at once, mid-call, without cleaning up.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    /// <summary>SIGTERM: the process shuts down gracefully.</summary>
    public void Terminate()
    {
        if (!_process.HasExited)
        {
            _ = NativeMethods.Kill(_process.Id, 15);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Terminate();
        try
        {
            await WaitForExitAsync(TimeSpan.FromSeconds(15));
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
        s_started.TryRemove(_process.Id, out _);
        _process.Dispose();
    }

    /// <summary>Last resort at the end of the run: nothing started by the tests outlives them.</summary>
    public static void KillAll()
    {
        foreach (var process in s_started.Values)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }
        s_started.Clear();
    }

    private async Task WaitAsync(Func<Task<bool>> ready, string what) =>
        await Eventually.UntilAsync(async () => ThrowIfExited() || await ready(), TimeSpan.FromSeconds(90), $"{what}");

    private bool ThrowIfExited() =>
        _process.HasExited
            ? throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}:{Environment.NewLine}{Output}")
            : false;

    private static SchedulerProcess Start(string name, string directory, string dll, string[] arguments,
        IReadOnlyDictionary<string, string> settings, Uri? baseAddress)
    {
        if (dll == "Scheduler.Worker.dll")
        {
            // Workers started together would all take the default health port (8081): each gets a free one.
            var healthPort = settings.TryGetValue("Worker__HttpPort", out var given) ? given : FreePorts.One().ToString(System.Globalization.CultureInfo.InvariantCulture);
            settings = new Dictionary<string, string>(settings) { ["Worker__HttpPort"] = healthPort };
            baseAddress = new Uri($"http://127.0.0.1:{healthPort}");
        }
        var info = new ProcessStartInfo("dotnet", [Path.Combine(directory, dll), .. arguments])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["ConnectionStrings__Scheduler"] = TestAssemblySetup.ConnectionString;
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in TestKeys.Settings)
        {
            info.Environment[key] = value;
        }
        // Tests drive thousands of requests through one key; the rate limit has its own test.
        info.Environment["Limits__RequestsPerSecond"] = "0";
        // Every target here is on 127.0.0.1; the SSRF guard has its own tests, with this set to false.
        info.Environment["Outbound__AllowPrivateNetworks"] = "true";
        // The API's warm-up through HTTP takes seconds at every start; ApiWarmUpTests turn it on.
        info.Environment["WarmUp__Seconds"] = "0";
        foreach (var (key, value) in settings)
        {
            info.Environment[key] = value;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {dll}.");
        s_started[process.Id] = process;
        return new SchedulerProcess(name, process, baseAddress);
    }

    internal static partial class NativeMethods
    {
        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static partial int Kill(int pid, int signal);
    }
}
