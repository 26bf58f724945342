using Microsoft.Extensions.Options;
using Scheduler.Core.Hosting;
using Scheduler.Core.Jobs;
using Scheduler.Core.Model;
using Scheduler.Worker.Execution;

namespace Scheduler.Worker.Jobs;

/// <summary>
/// Executes one run: claims it under a lease, waits for its due time, makes the HTTP call while renewing
/// the lease, and records the attempt and the outcome. Safe to run twice for one run: a finished run is
/// left alone, and a run held by a live worker is left to it. Hangfire's jobs (<see cref="RunJob"/>,
/// <see cref="RunBatchJob"/>) call it for their runs.
/// </summary>
internal sealed class RunExecution(
    RunLedger ledger,
    HttpCallExecutor executor,
    RunEnqueuer enqueuer,
    WorkerIdentity worker,
    TimeProvider time,
    IOptions<ExecutionOptions> options,
    ILogger<RunExecution> logger)
{
    public async Task ExecuteAsync(long runId, CancellationToken cancellationToken)
    {
        var plan = await ledger.LoadAsync(runId, cancellationToken);
        if (plan is null)
        {
            Log.RunMissing(logger, runId);
            return;
        }
        if (plan.Status.IsTerminal())
        {
            Log.RunAlreadyFinished(logger, runId, WireName.Of(plan.Status));
            return;
        }

        // A job that came much too early (a manual "enqueue now") goes back to wait in Hangfire.
        if (plan.DueAt - time.GetUtcNow() > RunEnqueuer.EnqueueAhead)
        {
            var jobs = await enqueuer.EnqueueManyAsync([new RunToEnqueue(plan.RunId, plan.ScheduleId, plan.DueAt)], cancellationToken);
            Log.RunRescheduled(logger, runId, plan.DueAt, jobs[0]);
            return;
        }

        // Claim first, then wait: the dispatcher queues runs a little ahead, so at the due time only the
        // call itself remains to be done.
        var claim = await ClaimAsync(plan, cancellationToken);
        if (claim is null)
        {
            return;
        }

        using var leaseLost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var renewal = RenewLeaseUntilDoneAsync(runId, leaseLost);
        CallOutcome outcome;
        try
        {
            await WaitUntilDueAsync(plan.DueAt, leaseLost.Token);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await leaseLost.CancelAsync();
            await renewal;
            await ledger.ReleaseUnstartedAsync(claim, worker.Name, CancellationToken.None);
            throw;
        }
        catch (OperationCanceledException) when (leaseLost.IsCancellationRequested)
        {
            await renewal;
            Log.LeaseLost(logger, runId, claim.AttemptNumber);
            return;
        }

        if (plan.OverlapPolicy != OverlapPolicy.Allow && plan.EarlierRunsActive > 0
            && await YieldToEarlierRunAsync(plan, claim, leaseLost, renewal))
        {
            return;
        }

        try
        {
            outcome = plan.Url is null
                ? Unsupported(plan)
                : await executor.CallAsync(plan, claim.AttemptNumber, leaseLost.Token);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await leaseLost.CancelAsync();
            await renewal;
            await ledger.HandBackAsync(claim, worker.Name, time.GetUtcNow(), CancellationToken.None);
            Log.RunHandedBack(logger, runId, claim.AttemptNumber);
            throw;
        }
        catch (OperationCanceledException) when (leaseLost.IsCancellationRequested)
        {
            await renewal;
            Log.LeaseLost(logger, runId, claim.AttemptNumber);
            return;
        }
        await leaseLost.CancelAsync();
        await renewal;

        // The call happened: record it even if shutdown has begun meanwhile.
        var recorded = await ledger.FinishAsync(claim, worker.Name, plan.DueAt, outcome, CancellationToken.None);
        if (!recorded)
        {
            Log.LeaseLost(logger, runId, claim.AttemptNumber);
            return;
        }
        Log.RunFinished(logger, runId, claim.AttemptNumber, plan.Method, plan.Url ?? plan.JobName ?? "?", WireName.Of(outcome.Status),
            outcome.StatusCode, outcome.LatencyMs, Math.Max(0, (outcome.StartedAt - plan.DueAt).TotalMilliseconds));
    }

    /// <summary>
    /// Overlap, decided at the due time (only when an earlier run was still going when this one was loaded):
    /// SKIP records this run SKIPPED; BUFFER_ONE lets it wait for the one ahead, or skips it when one is
    /// already waiting. True when this run does not go on now.
    /// </summary>
    private async Task<bool> YieldToEarlierRunAsync(RunPlan plan, RunClaim claim, CancellationTokenSource leaseLost, Task renewal)
    {
        var (count, latest) = await ledger.EarlierRunsActiveAsync(plan, CancellationToken.None);
        if (count == 0)
        {
            return false;
        }
        await leaseLost.CancelAsync();
        await renewal;
        if (plan.OverlapPolicy == OverlapPolicy.BufferOne && count == 1)
        {
            await ledger.ReleaseUnstartedAsync(claim, worker.Name, CancellationToken.None);
            await enqueuer.RetryLaterAsync(new RunToEnqueue(plan.RunId, plan.ScheduleId, plan.DueAt), TimeSpan.FromSeconds(1), CancellationToken.None);
            Log.RunBuffered(logger, plan.RunId, latest ?? 0);
            return true;
        }
        var remark = plan.OverlapPolicy == OverlapPolicy.Skip
            ? $"Skipped: run {latest} was still going at this run's due time (overlap SKIP)."
            : $"Skipped: run {latest} is already waiting behind a running one (overlap BUFFER_ONE).";
        await ledger.SkipAsync(claim, worker.Name, remark, time.GetUtcNow(), CancellationToken.None);
        Log.RunSkipped(logger, plan.RunId, remark);
        return true;
    }

    /// <summary>
    /// Never early. Timers may fire a little before their time, so the clock is read again after each wait.
    /// </summary>
    private async Task WaitUntilDueAsync(DateTimeOffset dueAt, CancellationToken cancellationToken)
    {
        while (dueAt - time.GetUtcNow() is { Ticks: > 0 } wait)
        {
            await Task.Delay(wait, time, cancellationToken);
        }
    }

    /// <summary>
    /// Claims the run. When another worker holds it, waits once for that lease to run out: if the holder
    /// renewed it meanwhile it is alive and keeps the run; if not, it died and the run is taken over.
    /// </summary>
    private async Task<RunClaim?> ClaimAsync(RunPlan plan, CancellationToken cancellationToken)
    {
        DateTimeOffset? observedExpiry = null;
        while (true)
        {
            var now = time.GetUtcNow();
            var claim = await ledger.ClaimAsync(plan.RunId, worker.Name, now > plan.DueAt ? now : plan.DueAt, cancellationToken);
            if (claim is not null)
            {
                if (claim.LostAttempts is not null)
                {
                    Log.RunRecovered(logger, plan.RunId, claim.LostAttempts, claim.AttemptNumber);
                }
                return claim;
            }

            var lease = await ledger.ReadLeaseAsync(plan.RunId, cancellationToken);
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

    private async Task RenewLeaseUntilDoneAsync(long runId, CancellationTokenSource done)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.LeaseRenewalSeconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(done.Token))
            {
                if (!await ledger.RenewLeaseAsync(runId, worker.Name, done.Token))
                {
                    await done.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The call ended, or shutdown began: nothing more to renew.
        }
        catch (Npgsql.NpgsqlException ex)
        {
            // The database is unreachable: the lease will lapse and another worker may take over.
            Log.LeaseRenewalFailed(logger, runId, ex.Message);
        }
    }

    private CallOutcome Unsupported(RunPlan plan)
    {
        var now = time.GetUtcNow();
        return new CallOutcome(RunStatus.Failed, now, now, 0, ErrorType: ErrorType.Internal,
            ErrorMessage: $"Schedule {plan.ScheduleId} names job '{plan.JobName}', but this worker runs HTTP targets only.");
    }
}
