// The benchmark client: drives a running Scheduler through its public API with the same workloads as
// ../shared/anchors (plain Hangfire, plain Quartz), measured at a loopback target that records when each
// call arrives. bench/run starts the system and the anchors around it and prints the comparison.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Scheduler.Bench;

if (args is ["report", .. var files])
{
    Report.Print(files);
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
var result = new JsonObject { ["system"] = "scheduler", ["workers"] = options.Workers };

// Steady state, not start-up: a few calls through the whole path first, so every worker process has
// compiled it (a fresh .NET process spends a few hundred milliseconds on its first jobs). Not measured.
await Workloads.WarmUpAsync(api, target, options.Workers * 20);

if (options.Delayed > 0)
{
    await Workloads.DelayedAsync(api, target, options.Delayed, result);
}
if (options.Recurring > 0)
{
    await Workloads.RecurringAsync(api, target, options.Recurring, result);
}

var json = result.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
Console.WriteLine(json);
if (options.Json is not null)
{
    await File.WriteAllTextAsync(options.Json, json);
}
return 0;

namespace Scheduler.Bench
{
    internal sealed record BenchOptions(Uri Api, int Workers, int Delayed, int Recurring, string? Json)
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
                int.Parse(Get("--delayed", "200"), CultureInfo.InvariantCulture),
                int.Parse(Get("--recurring", "20"), CultureInfo.InvariantCulture),
                args.Contains("--json") ? Get("--json", "") : null);
        }
    }
}
