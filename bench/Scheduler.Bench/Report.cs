using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ScottPlot;

namespace Scheduler.Bench;

/// <summary>
/// Prints the systems side by side with Scheduler's ratio to each anchor, writes the combined JSON, and
/// draws the PNG: lateness (W2, W3) and throughput (W1, W4).
/// </summary>
internal static class Report
{
    /// <summary>The rows; true where more is better (throughput), false where less is (lateness, early, errors).</summary>
    private static readonly (string Key, bool Higher)[] Rows =
    [
        ("warmup", false),
        ("burst_jobs", true), ("burst_submit_per_s", true), ("burst_end_to_end_per_s", true), ("burst_submit_errors", false), ("burst_not_executed", false), ("burst_duplicates", false),
        ("delayed_fired", true), ("delayed_early", false), ("delayed_late_ms_p50", false), ("delayed_late_ms_p99", false), ("delayed_late_ms_max", false),
        ("recurring_expected", true), ("recurring_fired", true), ("recurring_early", false), ("recurring_late_ms_p50", false), ("recurring_late_ms_p99", false), ("recurring_late_ms_max", false),
        ("api_rate_per_s", true), ("api_achieved_per_s", true), ("api_errors", false), ("api_latency_ms_p50", false), ("api_latency_ms_p99", false), ("api_latency_ms_max", false),
        ("api_latency_from_due_ms_p50", false), ("api_latency_from_due_ms_p99", false), ("api_latency_from_due_ms_max", false),
        ("scale_schedules_wanted", true), ("scale_schedules", true), ("scale_create_per_s", true), ("scale_target_runs_per_s", true), ("scale_runs_per_s", true), ("scale_kept_up_percent", true),
        ("scale_create_errors", false), ("scale_early", false), ("scale_late_ms_p50", false), ("scale_late_ms_p99", false), ("scale_late_ms_max", false),
        // W4 from the runs table: every run due in the window, not only the calls that reached the target.
        // For the whole window, its first minute and the rest (MoreWorkloads.TableLatenessParts).
        ("scale_table_runs", true), ("scale_table_not_started", false),
        .. MoreWorkloads.TableLatenessParts.SelectMany(part => new[] { ($"scale_table_late_ms_p99{part.Suffix}", false), ($"scale_table_late_ms_max{part.Suffix}", false) }),
        ("scale_db_growth_mb_per_hour", false),
        // What each phase cost the system (SystemCost): CPU ms per run of each process kind, database bytes per run; and
        // the client's own CPU, not the system's, beside it (it shares the machine).
        .. new[] { "burst", "delayed", "recurring", "api", "scale" }.SelectMany(phase => new[]
        {
            ($"{phase}_cpu_ms_per_run_api", false), ($"{phase}_cpu_ms_per_run_workers", false), ($"{phase}_cpu_ms_per_run_postgres", false),
            ($"{phase}_cpu_ms_per_run_total", false), ($"{phase}_db_bytes_per_run", false), ($"{phase}_cpu_ms_per_run_client", false),
        }),
    ];

    private static readonly string[] RatioRows =
    [
        "burst_submit_per_s", "burst_end_to_end_per_s", "delayed_late_ms_p50", "delayed_late_ms_p99", "delayed_late_ms_max",
        "recurring_late_ms_p50", "recurring_late_ms_p99", "recurring_late_ms_max",
    ];

    public static void Run(string[] args)
    {
        string? Option(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var files = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || !args[i - 1].StartsWith("--", StringComparison.Ordinal))).ToArray();
        var results = files.Where(File.Exists).Select(f => JsonNode.Parse(File.ReadAllText(f))!.AsObject()).ToList();
        Print(results);
        if (Option("--json") is { } json)
        {
            var combined = new JsonObject
            {
                ["machine"] = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}",
                ["at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                ["systems"] = new JsonArray([.. results.Select(r => (JsonNode?)r.DeepClone())]),
                // The first Scheduler result's (the .NET client's), as before; the other clients' below.
                ["ratios"] = results.Count == 0 ? new JsonObject() : Ratios(results[0], Anchors(results)),
                ["client_ratios"] = new JsonObject([.. Schedulers(results).Skip(1).Select(r =>
                    KeyValuePair.Create($"{r["client"]}", (JsonNode?)Ratios(r, Anchors(results))))]),
            };
            File.WriteAllText(json, combined.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"JSON: {json}");
        }
        if (Option("--png") is { } png)
        {
            Draw(results, png);
            Console.WriteLine($"PNG:  {png}");
        }
    }

    private static string Name(JsonObject r) =>
        $"{r["system"]}{(r["mode"] is { } mode ? $" ({mode})" : "")}{(r["client"] is { } client && $"{client}" != "dotnet" ? $" ({client})" : "")}";

    private static List<JsonObject> Schedulers(List<JsonObject> results) => [.. results.Where(r => $"{r["system"]}" == "scheduler")];

    private static List<JsonObject> Anchors(List<JsonObject> results) => [.. results.Where(r => $"{r["system"]}" != "scheduler")];

    private static double? Value(JsonObject r, string key) => r[key] is JsonValue v && v.TryGetValue<double>(out var d) && !double.IsNaN(d) ? d : null;

    private static void Print(List<JsonObject> results)
    {
        var (schedulers, anchors) = (Schedulers(results), Anchors(results));
        Console.WriteLine($"{"metric",-34}" + string.Concat(results.Select(r => $"{Name(r),26}")) + "   Scheduler vs each anchor");
        foreach (var (key, higher) in Rows)
        {
            var values = results.Select(r => Value(r, key)).ToList();
            if (values.All(v => v is null))
            {
                continue;
            }
            // Each Scheduler result (one per client) against each anchor.
            var ratios = RatioRows.Contains(key) && anchors.Count > 0
                ? "   " + string.Join(" · ", schedulers.Where(s => Value(s, key) is not null).Select(s =>
                    (schedulers.Count > 1 ? $"{s["client"]}: " : "") + string.Join(", ", anchors.Select(a => Ratio(Value(s, key), Value(a, key), higher)))))
                : "";
            Console.WriteLine($"{key,-34}" + string.Concat(values.Select(v => $"{(v is null ? "—" : Format(v.Value)),26}")) + ratios);
        }
    }

    // CPU per run is a fraction of a millisecond: small values keep three significant places.
    private static string Format(double v) => v.ToString(Math.Abs(v) is > 0 and < 10 ? "0.###" : "0.#", CultureInfo.InvariantCulture);

    /// <summary>How many times better Scheduler is (above 1) or worse (below 1).</summary>
    private static string Ratio(double? ours, double? theirs, bool higher) =>
        ours is > 0 && theirs is > 0
            ? (higher ? ours.Value / theirs.Value : theirs.Value / ours.Value).ToString("0.##", CultureInfo.InvariantCulture) + "×"
            : "—";

    private static JsonObject Ratios(JsonObject scheduler, List<JsonObject> anchors)
    {
        var ratios = new JsonObject();
        foreach (var anchor in anchors)
        {
            var row = new JsonObject();
            foreach (var key in RatioRows)
            {
                var higher = Rows.First(r => r.Key == key).Higher;
                var (ours, theirs) = (Value(scheduler, key), Value(anchor, key));
                row[key] = ours is > 0 && theirs is > 0 ? Math.Round(higher ? ours.Value / theirs.Value : theirs.Value / ours.Value, 2) : null;
            }
            ratios[Name(anchor)] = row;
        }
        return ratios;
    }

    private static void Draw(List<JsonObject> results, string path)
    {
        var names = results.Select(Name).ToArray();
        var multiplot = new Multiplot();
        multiplot.AddPlots(4);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(2, 2);

        // W2 and W3: lateness percentiles per system, log scale (the anchors report percentiles; Scheduler also its CDF below).
        foreach (var (plot, prefix, title) in new[] { (multiplot.GetPlot(0), "delayed", "W2 precision: lateness (ms, log)"), (multiplot.GetPlot(1), "recurring", "W3 recurring: lateness (ms, log)") })
        {
            var bars = new List<Bar>();
            var quantiles = new[] { "p50", "p99", "max" };
            for (var s = 0; s < results.Count; s++)
            {
                for (var q = 0; q < quantiles.Length; q++)
                {
                    var value = Value(results[s], $"{prefix}_late_ms_{quantiles[q]}") ?? 0;
                    bars.Add(new Bar { Position = (s * 4) + q, Value = Math.Log10(Math.Max(1, value)), FillColor = Palette(q), Label = value.ToString("0.#", CultureInfo.InvariantCulture) });
                }
            }
            var bar = plot.Add.Bars(bars);
            bar.ValueLabelStyle.FontSize = 10;
            plot.Axes.Bottom.SetTicks([.. names.Select((_, i) => (i * 4) + 1.0)], names);
            plot.Axes.Left.Label.Text = "log10(ms), bars p50 / p99 / max";
            plot.Title(title);
        }

        var throughput = multiplot.GetPlot(2);
        var rates = results.Select((r, i) => new Bar { Position = i, Value = Value(r, "burst_end_to_end_per_s") ?? 0, FillColor = Palette(i), Label = (Value(r, "burst_end_to_end_per_s") ?? 0).ToString("0", CultureInfo.InvariantCulture) }).ToList();
        if (results.Count > 0 && Value(results[0], "scale_runs_per_s") is { } sustained)
        {
            rates.Add(new Bar { Position = results.Count, Value = sustained, FillColor = Palette(3), Label = sustained.ToString("0", CultureInfo.InvariantCulture) });
        }
        throughput.Add.Bars(rates);
        var labels = names.Select(n => $"W1 {n}").ToList();
        if (rates.Count > names.Length)
        {
            labels.Add("W4 scheduler");
        }
        throughput.Axes.Bottom.SetTicks([.. rates.Select(r => r.Position)], [.. labels]);
        throughput.Axes.Left.Label.Text = "runs/s end to end";
        throughput.Title("Throughput: W1 burst, W4 sustained");

        var cdf = multiplot.GetPlot(3);
        if (results.Count > 0)
        {
            foreach (var (key, label, color) in new[] { ("delayed_late_ms_all", "W2", 0), ("recurring_late_ms_all", "W3", 1) })
            {
                var values = results[0][key]?.AsArray().Select(v => v!.GetValue<double>()).Order().ToArray() ?? [];
                if (values.Length == 0)
                {
                    continue;
                }
                var ys = values.Select((_, i) => 100.0 * (i + 1) / values.Length).ToArray();
                var line = cdf.Add.ScatterLine(values, ys);
                line.LegendText = $"Scheduler {label}";
                line.Color = Palette(color);
            }
            cdf.ShowLegend();
        }
        cdf.Axes.Bottom.Label.Text = "lateness (ms)";
        cdf.Axes.Left.Label.Text = "% of calls";
        cdf.Title("Scheduler: lateness CDF (W2, W3)");
        multiplot.SavePng(path, 1400, 1000);
    }

    private static Color Palette(int i) => new ScottPlot.Palettes.Category10().GetColor(i);
}
