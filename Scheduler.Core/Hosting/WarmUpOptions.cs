namespace Scheduler.Core.Hosting;

/// <summary>
/// The processes' warm-up before they report ready (section <c>WarmUp</c>), so that their first clients and runs do not
/// pay for compiling their path: the API sends itself create requests through HTTP, a worker runs calls of its own
/// through a second Hangfire server, both on a database of their own, until the runtime has compiled that path (or
/// <see cref="Seconds"/> have passed).
/// </summary>
public sealed class WarmUpOptions
{
    public const string Section = "WarmUp";

    /// <summary>
    /// The API's limit when <see cref="Seconds"/> is not set. A limit, not a length: the warm-up ends as soon as the
    /// runtime is quiet. With the runtime's instrumented tier (TieredPGO, which the API keeps) a hot method is compiled
    /// once more, instrumented before optimized; its warm-up went quiet after 19–23 s on one machine here and 33–37 s on a
    /// slower one, where a limit of 30 s cut it short in half the starts and the first burst's API then cost twice the CPU
    /// a run (docs/performance.md, "Warm-ups on a slower machine").
    /// </summary>
    public const int ApiDefaultSeconds = 60;

    /// <summary>
    /// A worker's limit when <see cref="Seconds"/> is not set: its warm-up needs longer until the runtime is quiet (17–20 s
    /// with the API and two workers starting together on 2 cores here, 23–28 s on a slower machine), and cut at 10 s it
    /// left a third of the gap.
    /// </summary>
    public const int WorkerDefaultSeconds = 60;

    /// <summary>At most this long; 0 turns the warm-up off (a process is ready once its database is). Unset: <see cref="ApiDefaultSeconds"/> and <see cref="WorkerDefaultSeconds"/>.</summary>
    public int? Seconds { get; set; }

    /// <summary>The API's limit.</summary>
    public int ApiSeconds => Seconds ?? ApiDefaultSeconds;

    /// <summary>A worker's limit.</summary>
    public int WorkerSeconds => Seconds ?? WorkerDefaultSeconds;

    /// <summary>
    /// Whether the warm-up writes, to a database of the process's own on the same server (created, and dropped when the
    /// warm-up ends; needs <c>CREATEDB</c>), so that it runs the whole path: for the API the commit and the hand-off to
    /// Hangfire, for a worker whole runs. False, or without the privilege: the API's creates are made ready and not
    /// sent, and a worker walks its path once against nothing.
    /// </summary>
    public bool Database { get; set; } = true;
}

internal sealed class WarmUpOptionsValidator : IValidateOptions<WarmUpOptions>
{
    public ValidateOptionsResult Validate(string? name, WarmUpOptions options) =>
        options.Seconds is null or (>= 0 and <= 120)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"WarmUp:Seconds must be between 0 (off) and 120 (got {options.Seconds}).");
}
