namespace Scheduler.Core.Model;

/// <summary>The bounds of a <c>"completion": "callback"</c> target's completion (issue #23).</summary>
public static class CompletionLimits
{
    /// <summary><c>completion_timeout_seconds</c> when a target says nothing.</summary>
    public const int DefaultTimeoutSeconds = 3600;

    /// <summary>The longest <c>completion_timeout_seconds</c> (7 days): a WAITING run is never forgotten for longer.</summary>
    public const int MaxTimeoutSeconds = 7 * 24 * 3600;

    /// <summary>The largest <c>output</c> a completion may carry, as JSON text (64 KiB).</summary>
    public const int MaxOutputBytes = 64 * 1024;

    /// <summary>The longest completion <c>message</c>.</summary>
    public const int MaxMessageLength = 4000;
}
