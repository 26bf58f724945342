using System.Globalization;
using System.Text.Json.Nodes;

namespace Scheduler.Bench;

/// <summary>Prints the systems side by side, with Scheduler's figures as ratios of each anchor's.</summary>
internal static class Report
{
    private static readonly string[] Rows =
    [
        "delayed_fired", "delayed_early", "delayed_late_ms_p50", "delayed_late_ms_p99", "delayed_late_ms_max",
        "recurring_expected", "recurring_fired", "recurring_early", "recurring_late_ms_p50", "recurring_late_ms_p99", "recurring_late_ms_max",
    ];

    public static void Print(string[] files)
    {
        var results = files.Where(File.Exists).Select(f => JsonNode.Parse(File.ReadAllText(f))!.AsObject()).ToList();
        var names = results.Select(r => $"{r["system"]}{(r["mode"] is { } mode ? $" ({mode})" : "")}").ToList();
        Console.WriteLine($"{"metric",-24}" + string.Concat(names.Select(n => $"{n,22}")) + "   scheduler vs others");
        foreach (var row in Rows)
        {
            var values = results.Select(r => r[row]?.GetValue<double>()).ToList();
            var ours = values.Count > 0 ? values[0] : null;
            var ratios = values.Skip(1).Select(v => ours is > 0 && v is > 0 ? (v.Value / ours.Value).ToString("0.#x better", CultureInfo.InvariantCulture) : "—");
            Console.WriteLine($"{row,-24}" + string.Concat(values.Select(v => $"{(v is null ? "—" : v.Value.ToString("0.#", CultureInfo.InvariantCulture)),22}"))
                + (row.Contains("late_ms", StringComparison.Ordinal) ? "   " + string.Join(", ", ratios) : ""));
        }
    }
}
