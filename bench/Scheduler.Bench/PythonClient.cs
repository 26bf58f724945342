using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Scheduler.Bench;

/// <summary>
/// W1 and W5 made by the Python client (bench/clients/python), a client in another language with its own
/// HTTP stack: it makes the requests, this process keeps the target, so end-to-end runs/s is measured the
/// same way for both clients. Its figures go under the .NET client's names, in a result of its own.
/// </summary>
internal static class PythonClient
{
    /// <summary>W1: the Python client creates <paramref name="count"/> IMMEDIATE schedules; returns the runs executed.</summary>
    public static async Task<int> BurstAsync(string script, Uri api, ArrivalTarget target, int count, JsonObject result)
    {
        var answer = await RunAsync(script, "burst", "--api", api.ToString().TrimEnd('/'), "--count", $"{count}", "--target-prefix", $"{target.BaseUrl}/b/");
        var started = DateTimeOffset.FromUnixTimeMilliseconds((long)(answer["started_at_unix"]!.GetValue<double>() * 1000));
        var submitSeconds = answer["submit_seconds"]!.GetValue<double>();
        var errors = answer["errors"]!.GetValue<int>();
        MoreWorkloads.Progress($"W1 (python): {count} submitted in {submitSeconds:0.0} s, {errors} errors{First(answer)}; waiting for the calls");
        return await MoreWorkloads.BurstResultAsync(target, count - errors, count, started, submitSeconds, result);
    }

    /// <summary>W5: the Python client posts at a fixed rate; returns the schedules created.</summary>
    public static async Task<int> ApiAsync(string script, Uri api, int rate, int seconds, JsonObject result)
    {
        var answer = await RunAsync(script, "api", "--api", api.ToString().TrimEnd('/'), "--rate", $"{rate}", "--seconds", $"{seconds}");
        double Ms(string key) => answer[key] is JsonValue v ? Math.Round(v.GetValue<double>(), 1) : double.NaN;
        var errors = answer["errors"]!.GetValue<int>();
        if (errors > 0)
        {
            MoreWorkloads.Progress($"W5 (python): {errors} errors{First(answer)}");
        }
        result["api_rate_per_s"] = rate;
        result["api_requests"] = rate * seconds;
        result["api_errors"] = errors;
        result["api_achieved_per_s"] = Ms("achieved_per_s");
        result["api_latency_ms_p50"] = Ms("latency_ms_p50");
        result["api_latency_ms_p99"] = Ms("latency_ms_p99");
        result["api_latency_ms_max"] = Ms("latency_ms_max");
        result["api_latency_from_due_ms_p50"] = Ms("from_due_ms_p50");
        result["api_latency_from_due_ms_p99"] = Ms("from_due_ms_p99");
        result["api_latency_from_due_ms_max"] = Ms("from_due_ms_max");
        return (rate * seconds) - errors;
    }

    /// <summary>
    /// W4 made by the Python client: <paramref name="count"/> INTERVAL-60 s schedules, one request each, the
    /// first ones due while the rest are still being created; then held and measured as the .NET client's W4.
    /// </summary>
    public static async Task ScaleAsync(string script, Uri api, ArrivalTarget target, int count, TimeSpan hold, TimeSpan createBudget, string? database, SystemCost? cost, JsonObject result)
    {
        var answer = await RunAsync(script, "scale", "--api", api.ToString().TrimEnd('/'), "--count", $"{count}",
            "--target-prefix", target.BaseUrl + MoreWorkloads.ScalePath, "--budget", $"{createBudget.TotalSeconds}");
        var due = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var starts = answer["starts_unix_ms"]!.AsArray();
        for (var i = 0; i < starts.Count; i++)
        {
            if (starts[i] is JsonValue start)
            {
                due[$"{MoreWorkloads.ScalePath}{i}"] = DateTimeOffset.FromUnixTimeMilliseconds(start.GetValue<long>());
            }
        }
        var errors = answer["errors"]!.GetValue<int>();
        if (errors > 0)
        {
            MoreWorkloads.Progress($"W4 (python): {errors} errors{First(answer)}");
        }
        result["scale_create_errors"] = errors;
        await MoreWorkloads.HoldScaleAsync(target, count, due, answer["create_seconds"]!.GetValue<double>(), hold, database, cost, result);
    }

    private static string First(JsonObject answer) => answer["first_error"] is JsonValue e ? $" (first: {e})" : "";

    private static async Task<JsonObject> RunAsync(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("python3 did not start");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"the Python client ({script} {arguments[0]}) exited with code {process.ExitCode}");
        }
        return JsonNode.Parse(output)!.AsObject();
    }
}
