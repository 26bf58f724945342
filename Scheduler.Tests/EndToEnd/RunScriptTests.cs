using System.Collections.Concurrent;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// <c>./run</c> supervises what it starts: a process that dies is started again with a growing delay while
/// the rest keep serving, a crash loop is reported and still retried, and only SIGTERM (or Ctrl-C) stops
/// everything.
/// </summary>
[Category("Chaos")]
// ./run builds the solution, which other fixtures' processes run from.
[NonParallelizable]
public sealed class RunScriptTests
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromMinutes(3);

    private RunScript? _run;

    [SetUp]
    public Task ResetDatabaseAsync() => TestDatabase.ResetAsync();

    [TearDown]
    public async Task StopRunAsync()
    {
        if (_run is null)
        {
            return;
        }
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            await TestContext.Out.WriteLineAsync($"----- ./run -----{Environment.NewLine}{_run.Output}");
        }
        await _run.DisposeAsync();
        _run = null;
    }

    [Test]
    public async Task A_killed_worker_is_started_again_while_the_api_keeps_answering_and_its_runs_complete()
    {
        await using var target = await TestTarget.StartAsync();
        target.Respond("/slow", TestTarget.Slow(TimeSpan.FromSeconds(2)));
        _run = RunScript.Start(workers: 1, ShortLease.Settings());
        await _run.WaitForOutputAsync("Scheduler is running", StartupTimeout);
        var api = _run.Pids("api").Single();
        var worker = _run.Pids("worker-1").Single();
        // Each process runs with the runtime settings ADR 7 gives it (W^X off, calls counted from the first).
        foreach (var pid in new[] { api, worker })
        {
            Assert.That(File.ReadAllText($"/proc/{pid}/environ").Split('\0'),
                Does.Contain("DOTNET_EnableWriteXorExecute=0").And.Contain("DOTNET_TC_CallCountingDelayMs=0"), $"the environment of pid {pid}");
        }
        var client = SchedulerApiExtensions.CreateClient(_run.BaseAddress);
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{target.Url("/slow")}}}"}}"""));
        }
        // The banner comes when the API is ready; the worker may still be starting.
        await target.WaitForAsync("/slow", 5, TimeSpan.FromSeconds(90));

        await using (var health = HealthWatch.Start(_run.BaseAddress))
        {
            RunScript.KillProcess(worker);
            var restarted = await _run.WaitForStartAsync("worker-1", times: 2, TimeSpan.FromSeconds(30));
            Assert.That(restarted, Is.Not.EqualTo(worker));
            // The only worker is the restarted one: the killed one's runs complete only if it works.
            foreach (var id in ids)
            {
                var run = await client.WaitForFinishedRunAsync(id, TimeSpan.FromSeconds(120));
                Assert.That(run.Status(), Is.EqualTo("SUCCESS"), run.ToJsonString());
            }
            Assert.That(health.Failures, Is.Empty, "/health answered something other than 200 while the worker was down");
            Assert.That(health.Answers, Is.Positive);
        }
        Assert.That(_run.RunLines, Has.Some.Match(@"^\[run\] worker-1 exited at \S+ \(code 137, killed by SIGKILL\) after \d+ s up; starting it again in 1 s, at \S+$"));
        Assert.That(RunScript.IsAlive(api), Is.True, "the API kept running");

        _run.Terminate();
        await _run.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.That(RunScript.IsAlive(api), Is.False, "the API is stopped");
        Assert.That(RunScript.IsAlive(_run.Pids("worker-1")[^1]), Is.False, "the worker is stopped");
    }

    [Test]
    public async Task With_SCHEDULER_LOG_FORMAT_json_each_process_line_is_its_prefix_and_a_json_object()
    {
        _run = RunScript.Start(workers: 1, new Dictionary<string, string> { ["SCHEDULER_LOG_FORMAT"] = "json" });
        await _run.WaitForOutputAsync("Scheduler is running", StartupTimeout);
        await _run.WaitForOutputAsync("all the dispatchers started", StartupTimeout);

        var lines = _run.Output.Split(Environment.NewLine);
        foreach (var name in new[] { "api", "worker-1" })
        {
            var ofProcess = lines.Where(l => l.StartsWith($"[{name}] ", StringComparison.Ordinal)).ToList();
            Assert.That(ofProcess, Is.Not.Empty, name);
            foreach (var line in ofProcess)
            {
                using var json = System.Text.Json.JsonDocument.Parse(line[(name.Length + 3)..]);
                Assert.That(json.RootElement.GetProperty("Process").GetString(), Is.EqualTo(name.Split('-')[0]), line);
            }
        }
    }

    [Test]
    public async Task A_crash_loop_is_reported_and_retried_with_growing_delays_and_SIGTERM_stops_everything_during_the_delay()
    {
        _run = RunScript.Start(workers: 1, new Dictionary<string, string>());
        await _run.WaitForOutputAsync("Scheduler is running", StartupTimeout);
        var api = _run.Pids("api").Single();

        // Five deaths in a row, each as soon as the worker is back: delays of 1, 2, 4 and 8 s, then 16 s.
        for (var times = 1; times <= 5; times++)
        {
            RunScript.KillProcess(await _run.WaitForStartAsync("worker-1", times, TimeSpan.FromSeconds(30)));
        }
        await _run.WaitForOutputAsync("CRASH LOOP: worker-1 has exited 5 times in the last minute", TimeSpan.FromSeconds(30));
        var delays = _run.RunLines.Where(line => line.StartsWith("[run] worker-1 exited", StringComparison.Ordinal))
            .Select(line => line[(line.IndexOf("starting it again in ", StringComparison.Ordinal) + 21)..].Split(' ')[0]);
        Assert.That(delays, Is.EqualTo(new[] { "1", "2", "4", "8", "16" }));
        Assert.That(RunScript.IsAlive(api), Is.True, "the API kept running");

        // SIGTERM while the worker waits 16 s to be started again: everything stops now, and it is not started.
        _run.Terminate();
        await _run.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.That(RunScript.IsAlive(api), Is.False, "the API is stopped");
        Assert.That(_run.Pids("worker-1"), Has.Count.EqualTo(5), "the worker was not started again after SIGTERM");
    }

    /// <summary>Polls <c>/health</c> until disposed, counting answers and anything but a 200.</summary>
    private sealed class HealthWatch : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<string> _failures = new();
        private readonly Task _polling;
        private int _answers;

        private HealthWatch(Uri baseAddress) => _polling = PollAsync(baseAddress);

        public IReadOnlyCollection<string> Failures => _failures;

        public int Answers => _answers;

        public static HealthWatch Start(Uri baseAddress) => new(baseAddress);

        private async Task PollAsync(Uri baseAddress)
        {
            using var http = SchedulerApiExtensions.CreateHttpClient(baseAddress, key: null);
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            try
            {
                do
                {
                    try
                    {
                        using var response = await http.GetAsync(new Uri("/health", UriKind.Relative), _stop.Token);
                        Interlocked.Increment(ref _answers);
                        if (response.StatusCode != HttpStatusCode.OK)
                        {
                            _failures.Enqueue($"{(int)response.StatusCode}");
                        }
                    }
                    catch (HttpRequestException ex)
                    {
                        _failures.Enqueue(ex.Message);
                    }
                }
                while (await timer.WaitForNextTickAsync(_stop.Token));
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // Disposed.
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _polling;
            _stop.Dispose();
        }
    }
}
