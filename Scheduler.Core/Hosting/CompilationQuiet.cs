namespace Scheduler.Core.Hosting;

/// <summary>
/// When a warm-up may end: the runtime has gone quiet, fewer than <see cref="QuietMethods"/> methods compiled in each of
/// <see cref="QuietLooks"/> looks in a row, one every <see cref="Look"/>. One quiet second, not less: by default the
/// runtime counts calls towards recompiling hot methods only after 100 ms without new ones, so a look or two without
/// compilation comes early, before most of the work (measured: quiet after 0.76 s with two looks); with
/// <c>DOTNET_TC_CallCountingDelayMs=0</c> (<c>./run</c>, the images; ADR 7) counting starts at once and the second only
/// leaves room for the compilation still queued. Counts the whole process's compilation.
/// </summary>
public sealed class CompilationQuiet
{
    /// <summary>How often a warm-up reads the count of methods the runtime has compiled.</summary>
    public static readonly TimeSpan Look = TimeSpan.FromMilliseconds(250);

    public const int QuietMethods = 5;
    public const int QuietLooks = 4;

    private long _last = System.Runtime.JitInfo.GetCompiledMethodCount();
    private int _calm;

    /// <summary>Takes a look; true once the last <see cref="QuietLooks"/> looks each saw fewer than <see cref="QuietMethods"/> methods compiled.</summary>
    public bool LookIsQuiet()
    {
        var now = System.Runtime.JitInfo.GetCompiledMethodCount();
        _calm = now - _last < QuietMethods ? _calm + 1 : 0;
        _last = now;
        return _calm >= QuietLooks;
    }
}
