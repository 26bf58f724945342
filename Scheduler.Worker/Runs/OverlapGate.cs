using Scheduler.Worker.Runs.Store;

namespace Scheduler.Worker.Runs;

/// <summary>
/// Overlap, decided at the due time (only when an earlier run was still going when this one was loaded):
/// SKIP records this run SKIPPED; BUFFER_ONE lets it wait for the one ahead, or skips it when one is
/// already waiting. ALLOW, a manual attempt and a retry always go on.
/// </summary>
internal sealed class OverlapGate(
    RunPlanQuery plans, RunLeaseStatements leases, RunSkipStatements skips, RunEnqueuer enqueuer, WorkerIdentity worker, TimeProvider time,
    RunMetering metering, ILogger<OverlapGate> logger)
{
    /// <summary>True when this run does not go on now; the lease is then given up (stopped first).</summary>
    public async Task<bool> HoldsBackAsync(RunPlan plan, RunClaim claim, HeldLease lease)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(lease);
        if (claim.Manual || plan.AttemptCount != 0 || plan.OverlapPolicy == OverlapPolicy.Allow || plan.EarlierRunsActive == 0)
        {
            return false;
        }
        var (count, latest) = await plans.EarlierRunsActiveAsync(plan, CancellationToken.None);
        if (count == 0)
        {
            return false;
        }
        await lease.StopAsync();
        if (plan.OverlapPolicy == OverlapPolicy.BufferOne && count == 1)
        {
            await leases.ReleaseUnstartedAsync(claim, worker.Name, CancellationToken.None);
            await enqueuer.RetryAtAsync(new RunToEnqueue(plan.RunId, plan.ScheduleId, plan.DueAt), time.GetUtcNow().AddSeconds(1), CancellationToken.None);
            Log.RunBuffered(logger, plan.RunId, latest ?? 0);
            return true;
        }
        var remark = plan.OverlapPolicy == OverlapPolicy.Skip
            ? $"Skipped: run {latest} was still going at this run's due time (overlap SKIP)."
            : $"Skipped: run {latest} is already waiting behind a running one (overlap BUFFER_ONE).";
        await skips.SkipClaimedAsync(claim, worker.Name, remark, time.GetUtcNow(), CancellationToken.None);
        metering.Skipped(plan);
        Log.RunSkipped(logger, plan.RunId, remark);
        return true;
    }
}
