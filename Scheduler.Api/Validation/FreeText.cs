namespace Scheduler.Api.Validation;

/// <summary>
/// Names, references and URLs are written to the logs as given: control characters in them could forge
/// log lines (a line break), drive a terminal (an escape sequence) or reorder what a reader sees (a
/// bidirectional override), so they are refused.
/// </summary>
internal static class FreeText
{
    public const string Rule = "must not contain control characters (line breaks, tabs, escape sequences, bidirectional overrides).";

    public static bool HasControlCharacters(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Any(c => char.IsControl(c) || c is (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069'));
    }
}
