using System.Globalization;
using Scheduler.Core.Security;
using Scheduler.Worker.Callbacks;
using Scheduler.Worker.NamedJobs;
using Scheduler.Worker.Runs.Store;

namespace Scheduler.Worker.Runs;

/// <summary>
/// Executes one attempt of a run, as a sequence: load → gate → claim → wait → call → record. Each step is a
/// class named after it: the plan (<see cref="RunPlanQuery"/>), the claim (<see cref="RunClaimer"/>), the lease
/// kept while waiting and calling (<see cref="LeaseKeeper"/>), the overlap gate (<see cref="OverlapGate"/>),
/// the target's rate and concurrency limits (<see cref="TargetLimits"/>),
/// the call (<see cref="HttpCallExecutor"/> or a named job), the retry decision (<see cref="RetryDecision"/>)
/// and the record (<see cref="RunFinishStatement"/>); a next attempt is scheduled in Hangfire (durable, never
/// a sleep here), and so are the continuation runs the record made (<see cref="Continuations"/>). Safe to run
/// twice for one run: a finished run is left alone, a run held by a live worker is
/// left to it. Hangfire's jobs (<see cref="RunJob"/>, <see cref="RunBatchJob"/>) call it for their runs.
/// </summary>
internal sealed class RunExecution(
    RunPlanQuery plans,
    RunClaimer claimer,
    LeaseKeeper leases,
    RunLeaseStatements leaseStatements,
    OverlapGate overlap,
    TargetLimits limits,
    RunSkipStatements skips,
    RetryDecision retries,
    RunFinishStatement finishes,
    HttpCallExecutor executor,
    NamedJobRunner namedJobs,
    RunEnqueuer enqueuer,
    RunHandOff handOff,
    CallbackEnqueuer callbacks,
    RunMetering metering,
    CallbackCompletion completions,
    Continuations continuations,
    NpgsqlDataSource database,
    AttemptTracing tracing,
    WorkerIdentity worker,
    TimeProvider time,
    ILogger<RunExecution> logger)
{
    /// <param name="runId">The run.</param>
    /// <param name="manualRequeue">Whether the job was requeued by hand (the dashboard), and which finished runs that reopens.</param>
    /// <param name="jobId">The Hangfire job executing the run, recorded on it when claimed.</param>
    /// <param name="cancellationToken">Shutdown.</param>
    /// <returns>How the attempt made here ended; null when none was recorded (skipped, deferred, finished, held elsewhere).</returns>
    public async Task<AttemptEnd?> ExecuteAsync(long runId, ManualRequeue manualRequeue, string? jobId, CancellationToken cancellationToken)
    {
        var plan = await LoadAsync(runId, manualRequeue, jobId, cancellationToken);
        if (plan is { Status: RunStatus.Waiting })
        {
            // Accepted earlier by a callback target: record its end once it completed or timed out.
            return await completions.ResolveAsync(plan, cancellationToken) is { } ended ? await RecordAsync(plan, ended.Claim, ended.Outcome) : null;
        }
        if (plan is null || await DefersAsync(plan, cancellationToken) || await SkipsAsLateAsync(plan, cancellationToken))
        {
            return null;
        }

        // Claim first, then wait: the dispatcher queues runs a little ahead, so at the due time only the
        // call itself remains to be done.
        var claim = await claimer.ClaimAsync(plan, jobId, cancellationToken);
        if (claim is null)
        {
            return null;
        }
        using var attempt = tracing.Start(plan, claim);
        await using var lease = leases.Keep(runId, cancellationToken);
        if (!await WaitForDueTimeAsync(plan, claim, lease, cancellationToken) || await overlap.HoldsBackAsync(plan, claim, lease)
            || !await limits.AwaitTurnAsync(plan, claim, lease, cancellationToken))
        {
            return null;
        }
        var ticket = completions.Issue(plan);
        var outcome = await CallAsync(plan, claim, lease, ticket, cancellationToken);
        if (outcome is null)
        {
            return null;
        }
        attempt.Record(outcome);
        if (await completions.AcceptsAsync(plan, claim, ticket, outcome))
        {
            // Accepted: the attempt ends later, with the target's completion or its timeout.
            return null;
        }
        // The call happened: record it even if shutdown has begun meanwhile.
        return await RecordAsync(plan, claim, outcome);
    }

    /// <summary>The plan; null when the run is gone or finished (unless requeued by hand, which reopens it).</summary>
    private async Task<RunPlan?> LoadAsync(long runId, ManualRequeue manualRequeue, string? jobId, CancellationToken cancellationToken)
    {
        var plan = await plans.LoadAsync(runId, cancellationToken);
        if (plan is null)
        {
            Log.RunMissing(logger, runId);
            return null;
        }
        if (!plan.Status.IsTerminal())
        {
            return plan;
        }
        var remark = $"Manual retry requested from the dashboard (requeue of job {jobId}) at {time.GetUtcNow():O}.";
        var reopened = manualRequeue switch
        {
            ManualRequeue.TheRun => await RunStatements.ReopenAsync(database, runId, remark, cancellationToken),
            // A batch's successful runs stay as they are: only the runs that failed in this job are retried.
            ManualRequeue.FailedRuns when plan.Status.IsUnsuccessful() && jobId is not null =>
                await RunStatements.ReopenFailedInJobAsync(database, runId, jobId, remark, cancellationToken),
            _ => false,
        };
        if (!reopened)
        {
            Log.RunAlreadyFinished(logger, runId, WireName.Of(plan.Status));
            return null;
        }
        return await plans.LoadAsync(runId, cancellationToken);
    }

    /// <summary>A job that came much too early (a manual "enqueue now") goes back to wait in Hangfire.</summary>
    private async Task<bool> DefersAsync(RunPlan plan, CancellationToken cancellationToken)
    {
        if (plan.NotBefore - time.GetUtcNow() <= RunEnqueuer.EnqueueAhead)
        {
            return false;
        }
        var jobs = await enqueuer.RetryAtAsync(new RunToEnqueue(plan.RunId, plan.ScheduleId, plan.DueAt), plan.NotBefore, cancellationToken);
        Log.RunRescheduled(logger, plan.RunId, plan.NotBefore, jobs);
        return true;
    }

    /// <summary>
    /// max_delay (seed 002): a first attempt that would start max_delay or more after the due time does
    /// not start ("max_delay or more", as seed 002 says). It would start now, or at its time for a job
    /// queued ahead (which waits below), so that is the lateness compared.
    /// </summary>
    private async Task<bool> SkipsAsLateAsync(RunPlan plan, CancellationToken cancellationToken)
    {
        if (plan is not { AttemptCount: 0, RetryRequested: false, MaxDelaySeconds: { } maxDelay })
        {
            return false;
        }
        var now = time.GetUtcNow();
        var late = (now > plan.NotBefore ? now : plan.NotBefore) - plan.DueAt;
        if (late < TimeSpan.FromSeconds(maxDelay))
        {
            return false;
        }
        var remark = string.Create(CultureInfo.InvariantCulture,
            $"Skipped: the first attempt would start {late.TotalSeconds:0.0} s after the due time, max_delay_seconds ({maxDelay}) or more.");
        if (await skips.SkipPendingAsync(plan.RunId, remark, time.GetUtcNow(), cancellationToken))
        {
            metering.Skipped(plan);
            Log.RunSkipped(logger, plan.RunId, remark);
        }
        return true;
    }

    /// <summary>
    /// Waits for the due time, never early: timers may fire a little before their time, so the clock is read
    /// again after each wait. False when the run does not go on: the lease was lost, or shutdown came first
    /// (the run is then given back, and the shutdown rethrown).
    /// </summary>
    private Task<bool> WaitForDueTimeAsync(RunPlan plan, RunClaim claim, HeldLease lease, CancellationToken cancellationToken) =>
        leases.WaitBeforeCallAsync(plan, claim, lease, async () =>
        {
            while (plan.NotBefore - time.GetUtcNow() is { Ticks: > 0 } wait)
            {
                await Task.Delay(wait, time, lease.Token);
            }
            return true;
        }, cancellationToken);

    /// <summary>
    /// Makes the call (an HTTP request or a named job) under the lease. Null when the lease was lost meanwhile;
    /// at shutdown the run is handed back and the shutdown rethrown.
    /// </summary>
    private async Task<CallOutcome?> CallAsync(RunPlan plan, RunClaim claim, HeldLease lease, CompletionTicket? ticket, CancellationToken cancellationToken)
    {
        try
        {
            var outcome = plan.JobName is not null
                ? await namedJobs.RunAsync(plan, claim.AttemptNumber, lease.Token)
                : await executor.CallAsync(plan, claim.AttemptNumber, ticket, lease.Token);
            await lease.StopAsync();
            return outcome;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await lease.StopAsync();
            await leaseStatements.HandBackAsync(claim, worker.Name, time.GetUtcNow(), CancellationToken.None);
            Log.RunHandedBack(logger, plan.RunId, claim.AttemptNumber);
            throw;
        }
        catch (OperationCanceledException) when (lease.IsLost)
        {
            await lease.StopAsync();
            Log.LeaseLost(logger, plan.RunId, claim.AttemptNumber);
            return null;
        }
    }

    private async Task<AttemptEnd?> RecordAsync(RunPlan plan, RunClaim claim, CallOutcome outcome)
    {
        var consequence = retries.Decide(plan, claim, outcome);
        var (recorded, deliveryId, started) = await finishes.FinishAsync(claim, plan.ScheduleId, worker.Name, plan.DueAt, outcome, consequence);
        if (!recorded)
        {
            Log.LeaseLost(logger, plan.RunId, claim.AttemptNumber);
            return null;
        }
        metering.Recorded(plan, claim, outcome, ends: consequence.RetryAt is null);
        Log.RunFinished(logger, plan.RunId, claim.AttemptNumber, plan.JobName is null ? plan.Method : "JOB", plan.Url is { } url ? LoggedUrl.Of(url) : plan.JobName ?? "?",
            WireName.Of(outcome.Status), outcome.StatusCode, outcome.LatencyMs, Math.Max(0, (outcome.StartedAt - plan.DueAt).TotalMilliseconds));
        if (consequence.RetryAt is { } at)
        {
            // Committed as PENDING with next_attempt_at first: if this process dies before the job exists,
            // reconciliation finds the run and schedules the retry. Retries falling close together (a target
            // that went down under load) share scheduled jobs.
            handOff.Post(new RunToEnqueue(plan.RunId, plan.ScheduleId, plan.DueAt, at));
            Log.RetryScheduled(logger, plan.RunId, claim.AttemptNumber + 1, consequence.MaxAttempts, at);
        }
        if (deliveryId is { } delivery)
        {
            await callbacks.EnqueueAsync(delivery, CancellationToken.None);
        }
        continuations.Start(started);
        return new AttemptEnd(plan.RunId, outcome.Status, outcome.ErrorType, outcome.ErrorMessage, claim.AttemptNumber, consequence.MaxAttempts, consequence.RetryAt);
    }
}
