using Microsoft.Extensions.Logging;
using Scheduler.Core.Hosting;
using Scheduler.Core.Persistence;

namespace Scheduler.Core.Jobs;

/// <summary>
/// Hands committed runs to Hangfire in the background, several to a job: the API's immediate runs (so a
/// request that commits a run answers at once) and the worker's retries (so a target failing under load does
/// not cost a Hangfire job per failed call). Creating a Hangfire job costs several round trips and commits,
/// so while one hand-off is in flight the runs committed meanwhile collect and go together, up to
/// <see cref="SchedulingOptions.MaxRunsPerJob"/> per job; a lone run still gets a job of its own at once.
/// The runs are committed before they are posted: if the process dies before the hand-off, they stay PENDING
/// and reconciliation queues them (ADR 0007).
/// </summary>
public sealed class RunHandOff
{
    private readonly RunEnqueuer _enqueuer;
    private readonly int _maxPerJob;
    private readonly ILogger<RunHandOff> _logger;
    private readonly WriteBatcher<RunToEnqueue> _batcher;

    public RunHandOff(RunEnqueuer enqueuer, IOptions<SchedulingOptions> options, ILogger<RunHandOff> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        (_enqueuer, _maxPerJob, _logger) = (enqueuer, options.Value.MaxRunsPerJob, logger);
        // One hand-off at a time, at most every HandOffLinger under load: each Hangfire job wakes every idle
        // Hangfire worker of every worker process (one LISTEN connection each), so fewer, fuller jobs
        // are what keeps a burst cheap.
        _batcher = new WriteBatcher<RunToEnqueue>(HandOverAsync, maxWeight: _maxPerJob * 4, lanes: 1, linger: HandOffLinger);
    }

    /// <summary>Under load, how long the runs committed after one hand-off gather before the next.</summary>
    public static readonly TimeSpan HandOffLinger = TimeSpan.FromMilliseconds(20);

    /// <summary>Queues a committed run for its Hangfire job. Never blocks, never fails.</summary>
    public void Post(RunToEnqueue run) => _batcher.Post(run);

    private async Task HandOverAsync(IReadOnlyList<RunToEnqueue> runs)
    {
        // A short outage is ridden out; a longer one leaves the runs to reconciliation.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _enqueuer.EnqueueManyAsync(runs, CancellationToken.None, _maxPerJob);
                return;
            }
            catch (Exception ex) when (attempt < 3 && ex is NpgsqlException or TimeoutException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), CancellationToken.None);
            }
            catch (Exception ex)
            {
                // Nothing is lost: the runs are committed, and reconciliation queues runs without a job.
                Log.HandOffDeferred(_logger, runs.Count, ex.Message);
                return;
            }
        }
    }
}
