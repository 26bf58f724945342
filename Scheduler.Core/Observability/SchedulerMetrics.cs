using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Scheduler.Core.Observability;

/// <summary>
/// The <c>Scheduler</c> meter, defined once for every process, and its instruments. Prometheus names (the exporter
/// adds the unit and <c>_total</c>): <c>scheduler_run_lateness_seconds</c>, <c>scheduler_runs_completed_total</c>,
/// <c>scheduler_attempts_total</c>, <c>scheduler_attempt_duration_seconds</c>, <c>scheduler_runs_due</c>,
/// <c>scheduler_dispatch_lag_seconds</c>, <c>scheduler_reconciliation_repairs_total</c>,
/// <c>scheduler_callback_deliveries_total</c>, <c>scheduler_jobs_fetched_again_total</c> (docs/observability.md). Recording is in memory only: no statement,
/// no allocation beyond the tags; the two gauges read <see cref="DueWorkProbe"/> at a scrape.
/// </summary>
public sealed class SchedulerMetrics
{
    public const string MeterName = "Scheduler";

    /// <summary>1 ms to 60 s: sub-millisecond lateness is "on time", a minute late is an incident.</summary>
    public static readonly IReadOnlyList<double> LatenessBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    /// <summary>5 ms to 10 min: targets' calls, up to long ones (a target's timeout may be an hour).</summary>
    public static readonly IReadOnlyList<double> DurationBuckets =
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    /// <summary>The <c>error_type</c> of an attempt that succeeded.</summary>
    public const string NoError = "none";

    private readonly Histogram<double> _lateness;
    private readonly Counter<long> _runsCompleted;
    private readonly Counter<long> _attempts;
    private readonly Histogram<double> _attemptDuration;
    private readonly Counter<long> _repairs;
    private readonly Counter<long> _callbacks;
    private readonly Counter<long> _jobsFetchedAgain;

    /// <param name="meterFactory">Makes the meter.</param>
    /// <param name="dueWork">Reads the gauges' figures from the database.</param>
    /// <param name="meterName">
    /// The meter's name: <see cref="MeterName"/>, which the process's exporters listen to; a worker's warm-up records
    /// its runs under another, which nothing exports.
    /// </param>
    public SchedulerMetrics(IMeterFactory meterFactory, DueWorkProbe dueWork, string meterName = MeterName)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(dueWork);
        var meter = meterFactory.Create(meterName);
        _lateness = meter.CreateHistogram("scheduler.run.lateness", "s",
            "How late runs started: the call's start minus the due time (first attempts).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatenessBuckets });
        _runsCompleted = meter.CreateCounter<long>("scheduler.runs.completed", "{run}",
            "Runs that ended, by final status and schedule kind (a run reopened by a retry ends again).");
        _attempts = meter.CreateCounter<long>("scheduler.attempts", "{attempt}",
            "Attempts recorded (calls made), by outcome and error type.");
        _attemptDuration = meter.CreateHistogram("scheduler.attempt.duration", "s",
            "How long attempts took, from the call's start to its last byte, by outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _repairs = meter.CreateCounter<long>("scheduler.reconciliation.repairs", "{repair}",
            "Items reconciliation put right, by kind.");
        _callbacks = meter.CreateCounter<long>("scheduler.callback.deliveries", "{delivery}",
            "Callback delivery attempts, by outcome (delivered, retry, failed).");
        _jobsFetchedAgain = meter.CreateCounter<long>("scheduler.jobs.fetched_again", "{job}",
            "Hangfire jobs taken from the queue a second time because their earlier fetch expired: neither run nor handed back within Hangfire:InvisibilityTimeout.");
        meter.CreateObservableGauge<long>("scheduler.runs.due", () => dueWork.Read() is { } work ? [new Measurement<long>(work.DueRuns)] : [],
            "{run}", "Runs due or queued and not started (PENDING, due time and retry time passed); read at most every Metrics:GaugeRefresh.");
        meter.CreateObservableGauge<double>("scheduler.dispatch.lag", () => dueWork.Read() is { } work ? [new Measurement<double>(work.DispatchLagSeconds)] : [],
            "s", "How far behind the dispatchers are: now minus the oldest due time of an active schedule not yet dispatched (0: none).");
    }

    /// <summary>A run's first call started, <paramref name="lateness"/> after its due time.</summary>
    public void RunStarted(ScheduleType kind, TimeSpan lateness) =>
        _lateness.Record(Math.Max(0, lateness.TotalSeconds), new KeyValuePair<string, object?>("kind", WireName.Of(kind)));

    /// <summary><paramref name="count"/> runs of a schedule of <paramref name="kind"/> ended with <paramref name="status"/>.</summary>
    public void RunCompleted(RunStatus status, ScheduleType kind, int count = 1)
    {
        if (count > 0)
        {
            _runsCompleted.Add(count, new KeyValuePair<string, object?>("status", WireName.Of(status)), new KeyValuePair<string, object?>("kind", WireName.Of(kind)));
        }
    }

    /// <summary>An attempt was recorded: its outcome, why it failed (null when it succeeded) and how long it took.</summary>
    public void AttemptRecorded(AttemptStatus outcome, ErrorType? errorType, TimeSpan duration)
    {
        var status = new KeyValuePair<string, object?>("outcome", WireName.Of(outcome));
        _attempts.Add(1, status, new KeyValuePair<string, object?>("error_type", errorType is { } error ? WireName.Of(error) : NoError));
        _attemptDuration.Record(Math.Max(0, duration.TotalSeconds), status);
    }

    /// <summary>An attempt whose worker died mid-call was recorded LOST (<c>worker_lost</c>); it has no duration.</summary>
    public void AttemptLost() =>
        _attempts.Add(1, new KeyValuePair<string, object?>("outcome", WireName.Of(AttemptStatus.Lost)),
            new KeyValuePair<string, object?>("error_type", WireName.Of(ErrorType.WorkerLost)));

    /// <summary>Reconciliation repaired <paramref name="count"/> items of <paramref name="kind"/>.</summary>
    public void Repaired(string kind, int count)
    {
        if (count > 0)
        {
            _repairs.Add(count, new KeyValuePair<string, object?>("kind", kind));
        }
    }

    /// <summary>A Hangfire job was fetched again after its earlier fetch expired (its runs waited the invisibility timeout).</summary>
    public void JobFetchedAgain() => _jobsFetchedAgain.Add(1);

    /// <summary>
    /// A callback delivery attempt was recorded with <paramref name="status"/>: outcome <c>delivered</c>, <c>retry</c>
    /// (it failed, another attempt follows) or <c>failed</c> (it failed and was given up).
    /// </summary>
    public void CallbackDelivery(DeliveryStatus status) =>
        _callbacks.Add(1, new KeyValuePair<string, object?>("outcome", status switch
        {
            DeliveryStatus.Delivered => "delivered",
            DeliveryStatus.Pending => "retry",
            _ => "failed",
        }));
}
