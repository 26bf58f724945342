namespace Scheduler.Api.Hosting;

/// <summary>
/// The API's warm-up through HTTP (section <c>WarmUp</c>, <see cref="ApiWarmup"/>): before it reports ready, the API
/// sends itself create requests that write nothing until the runtime has compiled their path (or <see cref="Seconds"/>
/// have passed), so that its first clients do not pay for that compilation.
/// </summary>
public sealed class WarmUpOptions
{
    public const string Section = "WarmUp";

    /// <summary>At most this long; 0 turns the HTTP warm-up off (the API is ready once its database is).</summary>
    public int Seconds { get; set; } = 10;

    /// <summary>
    /// Whether the warm-up's creates are written, to a database of the API's own on the same server (created, and dropped
    /// when the warm-up ends; needs <c>CREATEDB</c>), so that they run the whole create path: the commit, the hand-off
    /// to Hangfire. False, or without the privilege: they are made ready and not sent.
    /// </summary>
    public bool Database { get; set; } = true;
}

internal sealed class WarmUpOptionsValidator : IValidateOptions<WarmUpOptions>
{
    public ValidateOptionsResult Validate(string? name, WarmUpOptions options) =>
        options.Seconds is >= 0 and <= 120
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"WarmUp:Seconds must be between 0 (off) and 120 (got {options.Seconds}).");
}
