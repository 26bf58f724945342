// The benchmark client: drives a running Scheduler through its public API with the same workloads as
// ../shared/anchors (plain Hangfire, plain Quartz), measured at a loopback target that records when each
// call arrives. bench/run starts the system and the anchors around it and prints the comparison.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Scheduler.Bench;

if (args is ["report", .. var rest])
{
    Report.Run(rest);
    return 0;
}

var options = BenchOptions.Parse(args);
await using var target = await ArrivalTarget.StartAsync();
using var api = new HttpClient { BaseAddress = options.Api, Timeout = TimeSpan.FromSeconds(60) };
// bench/run passes the key it gave the API.
if (Environment.GetEnvironmentVariable("SCHEDULER_API_KEY") is { Length: > 0 } key)
{
    api.DefaultRequestHeaders.Add("X-Api-Key", key);
}
var python = options.Client == "python";
// --append: this invocation's workloads add to the result an earlier one wrote (bench/run --cold runs the Python
// client's W4 after the anchors, on the system its W1 and W5 ran on).
var result = options.Append && options.Json is not null && File.Exists(options.Json)
    ? JsonNode.Parse(await File.ReadAllTextAsync(options.Json))!.AsObject()
    : new JsonObject { ["system"] = "scheduler", ["workers"] = options.Workers, ["client"] = options.Client, ["warmup"] = options.WarmUp };
// The system's CPU and database growth per phase, when bench/run says which ./run to read.
var cost = options.SystemPid is { } systemPid && options.Database is { } database ? new SystemCost(systemPid, database) : null;

async Task PhaseAsync(string phase, Func<Task<int>> workload)
{
    var before = cost is null ? null : await cost.TakeAsync();
    var runs = await workload();
    if (cost is not null)
    {
        SystemCost.Add(result, phase, before!, await cost.TakeAsync(), runs);
    }
}

// Steady state, not start-up: a burst through the whole path first, so every process has compiled it. Not
// measured. bench/run --cold passes 0: the workloads then meet the system as a user does after a start.
if (options.WarmUp > 0)
{
    MoreWorkloads.Progress($"warm-up: {options.WarmUp} IMMEDIATE runs (not measured)");
    await Workloads.WarmUpAsync(api, target, options.WarmUp);
}

if (options.Burst > 0)
{
    MoreWorkloads.Progress($"W1 burst: {options.Burst} IMMEDIATE runs from 16 clients ({options.Client})");
    await PhaseAsync("burst", () => python
        ? PythonClient.BurstAsync(options.PythonScript, options.Api, target, options.Burst, result)
        : MoreWorkloads.BurstAsync(api, target, options.Burst, result));
}
if (options.Delayed > 0)
{
    MoreWorkloads.Progress($"W2 precision: {options.Delayed} ONCE schedules over 10 s");
    await PhaseAsync("delayed", () => Workloads.DelayedAsync(api, target, options.Delayed, result));
}
if (options.Recurring > 0)
{
    MoreWorkloads.Progress($"W3 recurring: {options.Recurring} INTERVAL-5 s schedules for 30 s");
    await PhaseAsync("recurring", () => Workloads.RecurringAsync(api, target, options.Recurring, result));
}
if (options.ApiRate > 0)
{
    MoreWorkloads.Progress($"W5 API: POST /schedules at {options.ApiRate}/s for {options.ApiSeconds} s ({options.Client})");
    await PhaseAsync("api", () => python
        ? PythonClient.ApiAsync(options.PythonScript, options.Api, options.ApiRate, options.ApiSeconds, result)
        : MoreWorkloads.ApiAsync(api, options.ApiRate, options.ApiSeconds, result));
}
if (options.Scale > 0)
{
    MoreWorkloads.Progress($"W4 scale: {options.Scale} INTERVAL-60 s schedules ({(python ? "one request each" : "in bulk")}, {options.Client}), held {options.ScaleSeconds} s");
    var (hold, createBudget) = (TimeSpan.FromSeconds(options.ScaleSeconds), TimeSpan.FromSeconds(options.ScaleCreateSeconds));
    await (python
        ? PythonClient.ScaleAsync(options.PythonScript, options.Api, target, options.Scale, hold, createBudget, options.Database, cost, result)
        : MoreWorkloads.ScaleAsync(api, target, options.Scale, hold, createBudget, options.Database, cost, result));
}
// Scheduler's own lateness, call by call, for the plot (an --append without W2 or W3 keeps the earlier calls).
void Calls(string key, bool measured, IEnumerable<double> lateMs)
{
    if (measured || !result.ContainsKey(key))
    {
        result[key] = new JsonArray([.. lateMs.Select(v => (JsonNode?)Math.Round(v, 2))]);
    }
}
Calls("delayed_late_ms_all", options.Delayed > 0, Workloads.LastDelayed);
Calls("recurring_late_ms_all", options.Recurring > 0, Workloads.LastRecurring);

var json = result.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
Console.WriteLine(json);
if (options.Json is not null)
{
    await File.WriteAllTextAsync(options.Json, json);
}
return 0;

namespace Scheduler.Bench
{
    /// <param name="Client">dotnet (this process's HttpClient) or python (bench/clients/python makes W1's, W5's and W4's requests; W4 one request a schedule).</param>
    /// <param name="SystemPid">./run's pid: its API and worker processes, and its database's server, are read for each phase's cost.</param>
    /// <param name="Append">Add to the result already in <paramref name="Json"/> instead of starting a new one.</param>
    internal sealed record BenchOptions(Uri Api, int Workers, int WarmUp, int Burst, int Delayed, int Recurring, int ApiRate, int ApiSeconds, int Scale, int ScaleSeconds, int ScaleCreateSeconds, string? Database, string? Json,
        string Client, string PythonScript, int? SystemPid, bool Append)
    {
        public static BenchOptions Parse(string[] args)
        {
            string Get(string name, string fallback)
            {
                var i = Array.IndexOf(args, name);
                return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
            }
            return new BenchOptions(
                new Uri(Get("--api", "http://127.0.0.1:8080")),
                int.Parse(Get("--workers", "1"), CultureInfo.InvariantCulture),
                int.Parse(Get("--warmup", "15000"), CultureInfo.InvariantCulture),
                int.Parse(Get("--burst", "0"), CultureInfo.InvariantCulture),
                int.Parse(Get("--delayed", "200"), CultureInfo.InvariantCulture),
                int.Parse(Get("--recurring", "20"), CultureInfo.InvariantCulture),
                int.Parse(Get("--api-rate", "0"), CultureInfo.InvariantCulture),
                int.Parse(Get("--api-seconds", "30"), CultureInfo.InvariantCulture),
                int.Parse(Get("--scale", "0"), CultureInfo.InvariantCulture),
                int.Parse(Get("--scale-seconds", "180"), CultureInfo.InvariantCulture),
                int.Parse(Get("--scale-create-seconds", "240"), CultureInfo.InvariantCulture),
                args.Contains("--database") ? Get("--database", "") : null,
                args.Contains("--json") ? Get("--json", "") : null,
                Get("--client", "dotnet") switch { "dotnet" => "dotnet", "python" => "python", _ => throw new ArgumentException("--client is dotnet or python") },
                Get("--python-client", Path.Combine(AppContext.BaseDirectory, "../../../../clients/python/scheduler_load.py")),
                args.Contains("--system-pid") ? int.Parse(Get("--system-pid", ""), CultureInfo.InvariantCulture) : null,
                args.Contains("--append"));
        }
    }
}
