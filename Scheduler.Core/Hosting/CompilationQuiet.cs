namespace Scheduler.Core.Hosting;

/// <summary>
/// When a warm-up may end: the runtime has gone quiet while the warm-up's work went on, fewer than
/// <see cref="QuietMethods"/> methods compiled and at least <see cref="QuietProgress"/> units of work (requests, runs)
/// done in each of <see cref="QuietLooks"/> looks in a row, one every <see cref="Look"/>, and at least the warm-up's
/// least work done in all. One quiet second, not less: by default the runtime counts calls towards recompiling hot
/// methods only after 100 ms without new ones, so a look or two without compilation comes early, before most of the
/// work (measured: quiet after 0.76 s with two looks); with <c>DOTNET_TC_CallCountingDelayMs=0</c> (<c>./run</c>, the
/// images; ADR 7) counting starts at once and the second only leaves room for the compilation still queued. Counts
/// the whole process's compilation.
/// </summary>
/// <remarks>
/// The work counts because a process starved of CPU compiles nothing and looks quiet while its work waits too: on a
/// slow machine, with both workers' rehearsals taking the cores, an API's warm-up ended after 1,717 and 1,829 requests
/// and 7,344 and 7,804 methods (in 2 of 50 starts; the others 9,200-18,400 requests and 16,000-16,800 methods), and the
/// API spent 0.85 ms of CPU a run in the first burst after one of them against 0.2-0.35 (docs/performance.md).
/// </remarks>
public sealed class CompilationQuiet
{
    /// <summary>How often a warm-up reads the count of methods the runtime has compiled.</summary>
    public static readonly TimeSpan Look = TimeSpan.FromMilliseconds(250);

    public const int QuietMethods = 5;
    public const int QuietLooks = 4;

    /// <summary>Units of work a look must see done to count as quiet: a look in which the work stood still says nothing.</summary>
    public const int QuietProgress = 10;

    private readonly long _leastWork;
    private long _last;
    private long _lastWork;
    private int _calm;

    /// <param name="leastWork">Units of work the warm-up does before it may end at all (0: none).</param>
    public CompilationQuiet(long leastWork = 0)
        : this(leastWork, System.Runtime.JitInfo.GetCompiledMethodCount())
    {
    }

    /// <summary>From a given count of compiled methods (tests).</summary>
    internal CompilationQuiet(long leastWork, long methodsCompiled) => (_leastWork, _last) = (leastWork, methodsCompiled);

    /// <summary>
    /// Takes a look, given the units of work done so far; true once the last <see cref="QuietLooks"/> looks each saw
    /// fewer than <see cref="QuietMethods"/> methods compiled and <see cref="QuietProgress"/> units done, and the least
    /// work is done.
    /// </summary>
    public bool LookIsQuiet(long workDone) => LookIsQuiet(workDone, System.Runtime.JitInfo.GetCompiledMethodCount());

    /// <summary><see cref="LookIsQuiet(long)"/> with the count of compiled methods given (tests).</summary>
    internal bool LookIsQuiet(long workDone, long methodsCompiled)
    {
        _calm = methodsCompiled - _last < QuietMethods && workDone - _lastWork >= QuietProgress ? _calm + 1 : 0;
        _last = methodsCompiled;
        _lastWork = workDone;
        return _calm >= QuietLooks && workDone >= _leastWork;
    }
}
