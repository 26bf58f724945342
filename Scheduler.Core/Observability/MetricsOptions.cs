namespace Scheduler.Core.Observability;

/// <summary>Metrics settings (section <c>Metrics</c>).</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>Serve the API's <c>/metrics/prometheus</c> without an API key (a worker's <c>/metrics</c> never asks for one).</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>
    /// How old the queue gauges (<c>scheduler_runs_due</c>, <c>scheduler_dispatch_lag_seconds</c>) may be: they are
    /// read from the database at a scrape, at most once per this period, however often Prometheus scrapes.
    /// </summary>
    public TimeSpan GaugeRefresh { get; set; } = TimeSpan.FromSeconds(10);
}

internal sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, MetricsOptions options) =>
        options.GaugeRefresh < TimeSpan.FromSeconds(1) || options.GaugeRefresh > TimeSpan.FromMinutes(10)
            ? ValidateOptionsResult.Fail($"Metrics:GaugeRefresh must be between 00:00:01 and 00:10:00 (got {options.GaugeRefresh}).")
            : ValidateOptionsResult.Success;
}
