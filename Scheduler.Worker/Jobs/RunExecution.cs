using System.Globalization;
using Microsoft.Extensions.Options;
using Scheduler.Core.Hosting;
using Scheduler.Core.Jobs;
using Scheduler.Core.Model;
using Scheduler.Core.Security;
using Scheduler.Worker.Callbacks;
using Scheduler.Worker.Execution;
using Scheduler.Worker.NamedJobs;

namespace Scheduler.Worker.Jobs;

/// <summary>
/// Executes one attempt of a run: claims the run under a lease, waits for its time, makes the call (an
/// HTTP request or a named job) while renewing the lease, and records the attempt and what follows: the
/// run's outcome and its callback, or the next attempt scheduled in Hangfire (durable, never a sleep
/// here). Safe to run twice for one run: a finished run is left alone, a run held by a live worker is
/// left to it. Hangfire's jobs (<see cref="RunJob"/>, <see cref="RunBatchJob"/>) call it for their runs.
/// </summary>
internal sealed class RunExecution(
    RunLedger ledger,
    HttpCallExecutor executor,
    NamedJobRunner namedJobs,
    RunEnqueuer enqueuer,
    RunHandOff handOff,
    CallbackEnqueuer callbacks,
    WorkerIdentity worker,
    TimeProvider time,
    IOptions<ExecutionOptions> options,
    ILogger<RunExecution> logger)
{
    /// <param name="runId">The run.</param>
    /// <param name="manualRequeue">The job was requeued by hand (the dashboard): a finished run gets another attempt.</param>
    /// <param name="jobId">The Hangfire job executing the run, recorded on it when claimed.</param>
    /// <param name="cancellationToken">Shutdown.</param>
    public async Task ExecuteAsync(long runId, bool manualRequeue, string? jobId, CancellationToken cancellationToken)
    {
        var plan = await ledger.LoadAsync(runId, cancellationToken);
        if (plan is null)
        {
            Log.RunMissing(logger, runId);
            return;
        }
        if (plan.Status.IsTerminal())
        {
            if (!manualRequeue || !await ledger.ReopenAsync(runId, $"Manual retry requested from the dashboard at {time.GetUtcNow():O}.", cancellationToken))
            {
                Log.RunAlreadyFinished(logger, runId, WireName.Of(plan.Status));
                return;
            }
            plan = await ledger.LoadAsync(runId, cancellationToken);
            if (plan is null)
            {
                return;
            }
        }

        // A job that came much too early (a manual "enqueue now") goes back to wait in Hangfire.
        if (plan.NotBefore - time.GetUtcNow() > RunEnqueuer.EnqueueAhead)
        {
            var jobs = await enqueuer.RetryAtAsync(new RunToEnqueue(plan.RunId, plan.ScheduleId, plan.DueAt), plan.NotBefore, cancellationToken);
            Log.RunRescheduled(logger, runId, plan.NotBefore, jobs);
            return;
        }

        // max_delay (seed 002): a first attempt that would start max_delay or more after the due time does
        // not start ("max_delay or more", as seed 002 says). It would start now, or at its time for a job
        // queued ahead (which waits below), so that is the lateness compared.
        if (plan is { AttemptCount: 0, RetryRequested: false, MaxDelaySeconds: { } maxDelay }
            && (time.GetUtcNow() > plan.NotBefore ? time.GetUtcNow() : plan.NotBefore) - plan.DueAt is var late
            && late >= TimeSpan.FromSeconds(maxDelay))
        {
            var remark = string.Create(CultureInfo.InvariantCulture,
                $"Skipped: the first attempt would start {late.TotalSeconds:0.0} s after the due time, max_delay_seconds ({maxDelay}) or more.");
            if (await ledger.SkipPendingAsync(runId, remark, time.GetUtcNow(), cancellationToken))
            {
                Log.RunSkipped(logger, runId, remark);
            }
            return;
        }

        // Claim first, then wait: the dispatcher queues runs a little ahead, so at the due time only the
        // call itself remains to be done.
        var claim = await ClaimAsync(plan, jobId, cancellationToken);
        if (claim is null)
        {
            return;
        }

        using var leaseLost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var renewal = RenewLeaseUntilDoneAsync(runId, leaseLost);
        try
        {
            await WaitUntilAsync(plan.NotBefore, leaseLost.Token);
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

        if (!claim.Manual && plan.AttemptCount == 0 && plan.OverlapPolicy != OverlapPolicy.Allow && plan.EarlierRunsActive > 0
            && await YieldToEarlierRunAsync(plan, claim, leaseLost, renewal))
        {
            return;
        }

        CallOutcome outcome;
        try
        {
            outcome = plan.JobName is not null
                ? await namedJobs.RunAsync(plan, claim.AttemptNumber, leaseLost.Token)
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
        await RecordAsync(plan, claim, outcome);
    }

    private async Task RecordAsync(RunPlan plan, RunClaim claim, CallOutcome outcome)
    {
        var settings = options.Value;
        var maxAttempts = plan.MaxAttempts ?? settings.RetryMaxAttempts;
        DateTimeOffset? retryAt = null;
        if (!claim.Manual && claim.AttemptNumber < maxAttempts && outcome.IsRetryable(settings))
        {
            var delay = RetryPolicy.Delay(claim.AttemptNumber, plan.RetryInitialIntervalSeconds ?? settings.RetryInitialIntervalSeconds,
                plan.RetryMaxIntervalSeconds ?? settings.RetryMaxIntervalSeconds, outcome.RetryAfter, settings, Random.Shared);
            retryAt = outcome.CompletedAt + delay;
        }
        (string, DeliveryKind)? callback = retryAt is not null ? null
            : outcome.Status == RunStatus.Success ? plan.CallbackUrl is { } success ? (success, DeliveryKind.Success) : null
            : (plan.ErrorCallbackUrl ?? plan.CallbackUrl) is { } error ? (error, DeliveryKind.Error) : null;

        var (recorded, deliveryId) = await ledger.FinishAsync(claim, plan.ScheduleId, worker.Name, plan.DueAt, outcome, retryAt, callback, CancellationToken.None);
        if (!recorded)
        {
            Log.LeaseLost(logger, plan.RunId, claim.AttemptNumber);
            return;
        }
        Log.RunFinished(logger, plan.RunId, claim.AttemptNumber, plan.JobName is null ? plan.Method : "JOB", plan.Url is { } url ? LoggedUrl.Of(url) : plan.JobName ?? "?",
            WireName.Of(outcome.Status), outcome.StatusCode, outcome.LatencyMs, Math.Max(0, (outcome.StartedAt - plan.DueAt).TotalMilliseconds));
        if (retryAt is { } at)
        {
            // Committed as PENDING with next_attempt_at first: if this process dies before the job exists,
            // reconciliation finds the run and schedules the retry. Retries falling close together (a target
            // that went down under load) share scheduled jobs.
            handOff.Post(new RunToEnqueue(plan.RunId, plan.ScheduleId, plan.DueAt, at));
            Log.RetryScheduled(logger, plan.RunId, claim.AttemptNumber + 1, maxAttempts, at);
        }
        if (deliveryId is { } delivery)
        {
            await callbacks.EnqueueAsync(delivery, CancellationToken.None);
        }
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
            await enqueuer.RetryAtAsync(new RunToEnqueue(plan.RunId, plan.ScheduleId, plan.DueAt), time.GetUtcNow().AddSeconds(1), CancellationToken.None);
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
    private async Task WaitUntilAsync(DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        while (notBefore - time.GetUtcNow() is { Ticks: > 0 } wait)
        {
            await Task.Delay(wait, time, cancellationToken);
        }
    }

    /// <summary>
    /// Claims the run. When another worker holds it, waits once for that lease to run out: if the holder
    /// renewed it meanwhile it is alive and keeps the run; if not, it died and the run is taken over.
    /// </summary>
    private async Task<RunClaim?> ClaimAsync(RunPlan plan, string? jobId, CancellationToken cancellationToken)
    {
        DateTimeOffset? observedExpiry = null;
        while (true)
        {
            var now = time.GetUtcNow();
            var claim = await ledger.ClaimAsync(plan.RunId, worker.Name, now > plan.NotBefore ? now : plan.NotBefore, jobId, cancellationToken);
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
}
