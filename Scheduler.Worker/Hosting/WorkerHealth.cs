namespace Scheduler.Worker.Hosting;

/// <summary>
/// What the worker's probes report. Live: the process answers and, once its Hangfire server runs, that server
/// keeps writing heartbeats. Ready: PostgreSQL answers, the schema is current, and the warm-up has ended
/// (<see cref="WorkerRehearsal"/>).
/// </summary>
internal sealed class WorkerHealth
{
    private readonly DatabaseReadiness _readiness;
    private readonly WorkerHeartbeats _heartbeats;
    private readonly WorkerIdentity _identity;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly IOptions<EngineOptions> _engine;
    private readonly TimeProvider _time;
    private readonly WorkerRehearsal _rehearsal;
    private DateTimeOffset? _startedAt;

    public WorkerHealth(DatabaseReadiness readiness, WorkerHeartbeats heartbeats, WorkerIdentity identity,
        IHostApplicationLifetime lifetime, IOptions<EngineOptions> engine, TimeProvider time, WorkerRehearsal rehearsal)
    {
        _readiness = readiness;
        _rehearsal = rehearsal;
        _heartbeats = heartbeats;
        _identity = identity;
        _lifetime = lifetime;
        _engine = engine;
        _time = time;
        lifetime.ApplicationStarted.Register(() => _startedAt = time.GetUtcNow());
    }

    /// <summary>
    /// While the warm-up runs, says so without asking the database, as the API does: the schema check opens connections
    /// of its own and builds a context each time, and a probe every half second (<c>./run</c>'s) kept the runtime
    /// compiling, so that the warm-up, which ends when compilation goes quiet, ran to its 30 s limit (measured: 29 s
    /// against 9–12 s for the worker not yet probed; the rest of the difference went with <see cref="WorkerRehearsal"/>'s
    /// own probes; docs/performance.md).
    /// </summary>
    public async Task<string?> WhyNotReadyAsync(CancellationToken cancellationToken) =>
        _rehearsal.Done
            ? await _readiness.WhyNotReadyAsync(cancellationToken)
            : "warming up: a second Hangfire server runs calls of its own on a database of its own (WarmUp:Seconds)";

    /// <summary>Null when live; otherwise why a restart would help.</summary>
    public async Task<string?> WhyNotLiveAsync(CancellationToken cancellationToken)
    {
        // Still waiting for the schema (bounded by Database:StartupWait, after which the process exits), or
        // draining on SIGTERM (bounded by the termination grace): a restart would only cut either short.
        if (_startedAt is not { } startedAt || _lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return null;
        }
        TimeSpan? sinceHeartbeat;
        try
        {
            sinceHeartbeat = await _heartbeats.SinceLastHeartbeatAsync(_identity.Name, cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            // A database outage makes every worker unready; restarting them all would not bring it back.
            return null;
        }
        // A server removed as dead announces itself again at its next heartbeat, so a missing row counts from the start.
        var silentFor = sinceHeartbeat ?? _time.GetUtcNow() - startedAt;
        var limit = _engine.Value.ServerTimeout;
        return silentFor > limit ? $"no Hangfire server heartbeat for {silentFor.TotalSeconds:0} s (Hangfire:ServerTimeout {limit.TotalSeconds:0} s)" : null;
    }
}
