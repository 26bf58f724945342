using System.Collections.Concurrent;
using System.Diagnostics;

namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// What a started process writes to standard output and error, line by line as it comes (both streams in one
/// order), kept for assertions and for the dump when a test fails.
/// </summary>
public sealed class ProcessOutput
{
    private readonly ConcurrentQueue<string> _lines = new();

    /// <summary>Starts reading <paramref name="process"/>'s redirected output and error.</summary>
    public ProcessOutput(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The lines so far, in order.</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    public string Text => string.Join(Environment.NewLine, _lines);

    /// <summary>How many lines so far contain <paramref name="text"/>.</summary>
    public int Count(string text) => _lines.Count(line => line.Contains(text, StringComparison.Ordinal));

    private void Add(string? line)
    {
        if (line is not null)
        {
            _lines.Enqueue(line);
        }
    }
}
