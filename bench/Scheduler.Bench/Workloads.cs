using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Scheduler.Bench;

/// <summary>The workloads, defined as in ../shared/anchors so the figures compare one to one.</summary>
internal static class Workloads
{
    /// <summary>Each call's lateness in the last W2 and W3, kept for the plot.</summary>
    public static double[] LastDelayed { get; private set; } = [];

    public static double[] LastRecurring { get; private set; } = [];

    /// <summary>
    /// Runs <paramref name="count"/> IMMEDIATE schedules from 16 clients, as W1 does, and waits for their calls:
    /// not measured. A fresh .NET process spends its first seconds under load compiling its hot paths again
    /// at full optimisation (measured here: a quarter of the machine's CPU on the tiered-compilation thread
    /// during the first burst, 250 runs/s against 900 warm), so the workloads measure the service as it runs
    /// once started, not its start.
    /// </summary>
    public static async Task WarmUpAsync(HttpClient api, ArrivalTarget target, int count)
    {
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await MoreWorkloads.PostBodyAsync(api, "/schedules", MoreWorkloads.ImmediateBody($"{target.BaseUrl}/warm/{i}"), ct));
        await WaitForAsync(() => target.Arrivals.Count(a => a.Path.StartsWith("/warm/", StringComparison.Ordinal)) >= count, TimeSpan.FromSeconds(120));
    }

    /// <summary>W2 precision: M ONCE schedules due across a 10 s window starting 5 s from now. Returns the calls made.</summary>
    public static async Task<int> DelayedAsync(HttpClient api, ArrivalTarget target, int count, JsonObject result)
    {
        var due = new Dictionary<string, DateTimeOffset>();
        var t0 = TimeProvider.System.GetUtcNow().AddSeconds(5);
        for (var i = 0; i < count; i++)
        {
            var at = t0.AddMilliseconds(i * 10_000.0 / count);
            var path = $"/hit/d{i}";
            due[path] = at;
            await PostAsync(api, new JsonObject
            {
                ["schedule_type"] = "ONCE",
                ["run_at"] = at.ToString("O", CultureInfo.InvariantCulture),
                ["target"] = new JsonObject { ["url"] = target.BaseUrl + path },
            });
        }
        await WaitForAsync(() => target.Arrivals.Count(a => a.Path.StartsWith("/hit/d", StringComparison.Ordinal)) >= count, TimeSpan.FromSeconds(120));
        var late = target.Arrivals.Where(a => due.ContainsKey(a.Path)).Select(a => (a.At - due[a.Path]).TotalMilliseconds).ToArray();
        LastDelayed = late;
        Stats.Add(result, "delayed", late, count);
        return late.Length;
    }

    /// <summary>W3 recurring: R INTERVAL schedules every 5 s, aligned to 5-second boundaries, watched for 30 s. Returns the calls made.</summary>
    public static async Task<int> RecurringAsync(HttpClient api, ArrivalTarget target, int count, JsonObject result)
    {
        var start = TimeProvider.System.GetUtcNow();
        var anchor = Floor5(start).AddSeconds(5);
        var ids = new List<long>();
        for (var i = 0; i < count; i++)
        {
            var schedule = await PostAsync(api, new JsonObject
            {
                ["schedule_type"] = "INTERVAL",
                ["interval_seconds"] = 5,
                ["start_at"] = anchor.ToString("O", CultureInfo.InvariantCulture),
                ["target"] = new JsonObject { ["url"] = $"{target.BaseUrl}/rec/r{i}" },
            });
            ids.Add(schedule["id"]!.GetValue<long>());
        }
        await WaitForAsync(() => TimeProvider.System.GetUtcNow() > start.AddSeconds(32), TimeSpan.FromSeconds(40));
        foreach (var id in ids)
        {
            (await api.PostAsync(new Uri($"/schedules/{id}/pause", UriKind.Relative), null)).EnsureSuccessStatusCode();
        }
        var fires = target.Arrivals.Where(a => a.Path.StartsWith("/rec/", StringComparison.Ordinal)
                                               && a.At >= start.AddSeconds(5) && a.At < start.AddSeconds(30)).ToArray();
        var late = fires.Select(a => (a.At - Floor5(a.At)).TotalMilliseconds).ToArray();
        LastRecurring = late;
        Stats.Add(result, "recurring", late, count * 5);
        // Every call the phase made, the ones outside the measured window too: the phase's cost paid for them.
        return target.Arrivals.Count(a => a.Path.StartsWith("/rec/", StringComparison.Ordinal));
    }

    private static async Task<JsonNode> PostAsync(HttpClient api, JsonObject body)
    {
        using var response = await api.PostAsJsonAsync(new Uri("/schedules", UriKind.Relative), body);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST /schedules answered {(int)response.StatusCode}: {text}");
        }
        return JsonNode.Parse(text)!;
    }

    private static DateTimeOffset Floor5(DateTimeOffset t) => new(t.UtcTicks - (t.UtcTicks % TimeSpan.FromSeconds(5).Ticks), TimeSpan.Zero);

    private static async Task WaitForAsync(Func<bool> done, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (!done() && clock.Elapsed < limit && await timer.WaitForNextTickAsync())
        {
        }
    }
}

/// <summary>The anchors' statistics, with the same field names.</summary>
internal static class Stats
{
    public static void Add(JsonObject result, string name, double[] lateMs, int expected)
    {
        Array.Sort(lateMs);
        double P(double q) => lateMs.Length == 0 ? double.NaN : lateMs[Math.Min(lateMs.Length - 1, (int)(q * lateMs.Length))];
        result[$"{name}_expected"] = expected;
        result[$"{name}_fired"] = lateMs.Length;
        result[$"{name}_early"] = lateMs.Count(x => x < 0);
        result[$"{name}_late_ms_p50"] = Math.Round(P(0.50), 1);
        result[$"{name}_late_ms_p99"] = Math.Round(P(0.99), 1);
        result[$"{name}_late_ms_max"] = lateMs.Length == 0 ? double.NaN : Math.Round(lateMs[^1], 1);
        result[$"{name}_late_ms_min"] = lateMs.Length == 0 ? double.NaN : Math.Round(lateMs[0], 1);
    }
}
