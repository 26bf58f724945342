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
var result = new JsonObject { ["system"] = "scheduler", ["workers"] = options.Workers };

// Steady state, not start-up: a burst through the whole path first, so every process has compiled it. Not measured.
if (options.WarmUp > 0)
{
    MoreWorkloads.Progress($"warm-up: {options.WarmUp} IMMEDIATE runs (not measured)");
    await Workloads.WarmUpAsync(api, target, options.WarmUp);
}

if (options.Burst > 0)
{
    MoreWorkloads.Progress($"W1 burst: {options.Burst} IMMEDIATE runs from 16 clients");
    await MoreWorkloads.BurstAsync(api, target, options.Burst, result);
}
if (options.Delayed > 0)
{
    MoreWorkloads.Progress($"W2 precision: {options.Delayed} ONCE schedules over 10 s");
    await Workloads.DelayedAsync(api, target, options.Delayed, result);
}
if (options.Recurring > 0)
{
    MoreWorkloads.Progress($"W3 recurring: {options.Recurring} INTERVAL-5 s schedules for 30 s");
    await Workloads.RecurringAsync(api, target, options.Recurring, result);
}
if (options.ApiRate > 0)
{
    MoreWorkloads.Progress($"W5 API: POST /schedules at {options.ApiRate}/s for {options.ApiSeconds} s");
    await MoreWorkloads.ApiAsync(api, options.ApiRate, options.ApiSeconds, result);
}
if (options.Scale > 0)
{
    MoreWorkloads.Progress($"W4 scale: {options.Scale} INTERVAL-60 s schedules, held {options.ScaleSeconds} s");
    await MoreWorkloads.ScaleAsync(api, target, options.Scale, TimeSpan.FromSeconds(options.ScaleSeconds), TimeSpan.FromSeconds(options.ScaleCreateSeconds), options.Database, result);
}
// Scheduler's own lateness, call by call, for the plot.
result["delayed_late_ms_all"] = new JsonArray([.. Workloads.LastDelayed.Select(v => (JsonNode?)Math.Round(v, 2))]);
result["recurring_late_ms_all"] = new JsonArray([.. Workloads.LastRecurring.Select(v => (JsonNode?)Math.Round(v, 2))]);

var json = result.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
Console.WriteLine(json);
if (options.Json is not null)
{
    await File.WriteAllTextAsync(options.Json, json);
}
return 0;

namespace Scheduler.Bench
{
    internal sealed record BenchOptions(Uri Api, int Workers, int WarmUp, int Burst, int Delayed, int Recurring, int ApiRate, int ApiSeconds, int Scale, int ScaleSeconds, int ScaleCreateSeconds, string? Database, string? Json)
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
                args.Contains("--json") ? Get("--json", "") : null);
        }
    }
}
