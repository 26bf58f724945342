using System.Globalization;

namespace Scheduler.Cli;

/// <summary>Readable output: aligned columns, UTC times, milliseconds.</summary>
internal static class Output
{
    public static void Table(TextWriter writer, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = rows.ToList();
        if (all.Count == 0)
        {
            writer.WriteLine("(none)");
            return;
        }
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Max(r => r[i].Length))).ToArray();
        writer.WriteLine(Line(headers, widths));
        foreach (var row in all)
        {
            writer.WriteLine(Line(row, widths));
        }
    }

    /// <summary>Label and value pairs, one a line.</summary>
    public static void Fields(TextWriter writer, IEnumerable<(string Label, string? Value)> fields)
    {
        var shown = fields.Where(f => !string.IsNullOrEmpty(f.Value)).ToList();
        var width = shown.Max(f => f.Label.Length);
        foreach (var (label, value) in shown)
        {
            writer.WriteLine($"{label.PadRight(width)}  {value}");
        }
    }

    public static string Time(DateTimeOffset? time) =>
        time?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-";

    public static string Ms(double? milliseconds) =>
        milliseconds is { } ms ? ms.ToString("0.#", CultureInfo.InvariantCulture) + " ms" : "-";

    public static string Of(object? value) => value switch
    {
        null => "-",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "-",
    };

    /// <summary>The start of a response body on one line (the JSON output has all of it).</summary>
    public static string? Excerpt(string? text)
    {
        if (text is null)
        {
            return null;
        }
        var line = string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return line.Length <= 100 ? line : line[..100] + "…";
    }

    private static string Line(IReadOnlyList<string> cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
}
