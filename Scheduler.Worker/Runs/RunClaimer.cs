using Scheduler.Worker.Runs.Store;

namespace Scheduler.Worker.Runs;

/// <summary>
/// Claims a run for this worker (<see cref="RunClaimStatement"/>). When another worker holds it, waits once
/// for that lease to run out: if the holder renewed it meanwhile it is alive and keeps the run; if not, it
/// died and the run is taken over.
/// </summary>
internal sealed class RunClaimer(
    RunClaimStatement claims, RunLeaseStatements leases, WorkerIdentity worker, RunMetering metering, TimeProvider time, ILogger<RunClaimer> logger)
{
    /// <summary>The claim, or null when the run is another live worker's, has ended or is gone.</summary>
    public async Task<RunClaim?> ClaimAsync(RunPlan plan, string? jobId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        DateTimeOffset? observedExpiry = null;
        while (true)
        {
            var now = time.GetUtcNow();
            var claim = await claims.ClaimAsync(plan.RunId, worker.Name, now > plan.NotBefore ? now : plan.NotBefore, jobId, cancellationToken);
            if (claim is not null)
            {
                if (claim.LostAttempts is not null)
                {
                    metering.Lost();
                    Log.RunRecovered(logger, plan.RunId, claim.LostAttempts, claim.AttemptNumber);
                }
                return claim;
            }

            var lease = await leases.ReadAsync(plan.RunId, cancellationToken);
            if (lease is null || lease.Status.IsTerminal())
            {
                Log.RunAlreadyFinished(logger, plan.RunId, lease is null ? "deleted" : WireName.Of(lease.Status));
                return null;
            }
            if (lease.Status != RunStatus.Running || lease.ExpiresAt is not { } expiresAt)
            {
                continue;
            }
            if (observedExpiry is not null && expiresAt > observedExpiry)
            {
                Log.RunHeldElsewhere(logger, plan.RunId, lease.Owner ?? "?");
                return null;
            }
            observedExpiry = expiresAt;
            var wait = expiresAt - lease.DatabaseNow + TimeSpan.FromMilliseconds(100);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, cancellationToken);
            }
        }
    }
}
