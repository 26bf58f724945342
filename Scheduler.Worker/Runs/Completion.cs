using System.Globalization;
using Scheduler.Core.Security;
using Scheduler.Worker.Runs.Store;

namespace Scheduler.Worker.Runs;

/// <summary>What an attempt to a callback target sends: where to complete the run, and the attempt's token (only its hash is kept).</summary>
internal sealed record CompletionTicket(Uri Url, string Token, byte[] TokenHash)
{
    public const string UrlHeader = "X-Scheduler-Completion-Url";

    public const string TokenHeader = "X-Scheduler-Completion-Token";
}

/// <summary>
/// Long-running endpoints (issue #23): a target with <c>"completion": "callback"</c> answers 2xx to accept the
/// call, and the run is WAITING, held by no worker, until the target POSTs <c>/runs/{id}/complete</c> (the API
/// records what it said and queues the run's job) or its deadline passes (a job scheduled in Hangfire for the
/// deadline; reconciliation queues one for a WAITING run overdue without one). That job takes the run
/// (<see cref="CompletionStatements"/>) and returns the attempt's end, which <see cref="RunExecution"/> records
/// like any other: <see cref="RetryDecision"/> decides a retry, the callbacks follow.
/// </summary>
internal sealed class CallbackCompletion(
    CompletionStatements statements,
    RunEnqueuer enqueuer,
    IOptions<ApiOptions> api,
    WorkerIdentity worker,
    TimeProvider time,
    ILogger<CallbackCompletion> logger)
{
    /// <summary>A new ticket for an attempt to a callback target; null for any other run.</summary>
    public CompletionTicket? Issue(RunPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan is not { Completion: CompletionMode.Callback, JobName: null })
        {
            return null;
        }
        var (token, hash) = CompletionToken.Issue();
        return new CompletionTicket(api.Value.CompletionUrl(plan.RunId), token, hash);
    }

    /// <summary>
    /// True when the call was accepted (a 2xx from a callback target) and is recorded as WAITING (or the run was
    /// no longer this worker's); false when the outcome is recorded as usual.
    /// </summary>
    public async Task<bool> AcceptsAsync(RunPlan plan, RunClaim claim, CompletionTicket? ticket, CallOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(outcome);
        if (ticket is null || outcome.Status != RunStatus.Success)
        {
            return false;
        }
        if (await statements.AcceptAsync(claim, plan, worker.Name, outcome, ticket.TokenHash) is not { } deadline)
        {
            Log.LeaseLost(logger, plan.RunId, claim.AttemptNumber);
            return true;
        }
        // The timeout is a job in Hangfire's scheduled set (durable): a worker that dies now loses nothing.
        await enqueuer.RetryAtAsync(new RunToEnqueue(plan.RunId, plan.ScheduleId, plan.DueAt), deadline, CancellationToken.None);
        Log.RunWaiting(logger, plan.RunId, claim.AttemptNumber, outcome.StatusCode, deadline);
        return true;
    }

    /// <summary>
    /// A WAITING run's job: the attempt's end when the target completed it or its deadline passed (the run is then
    /// held by this worker until recorded); null when there is nothing to record yet (a job then waits for the
    /// deadline, which a heartbeat may have moved) or another worker records it.
    /// </summary>
    public async Task<(RunClaim Claim, CallOutcome Outcome)?> ResolveAsync(RunPlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        while (true)
        {
            if (await statements.TakeAsync(plan.RunId, worker.Name, cancellationToken) is { } taken)
            {
                return (taken.Claim, Outcome(plan, taken));
            }
            var state = await statements.ReadAsync(plan.RunId, cancellationToken);
            if (state is not { Status: RunStatus.Waiting, Completed: false, Deadline: { } deadline } || deadline <= state.DatabaseNow)
            {
                // Ended, completed or overdue while another worker holds it: that worker records it.
                return null;
            }
            var wait = deadline - state.DatabaseNow;
            if (wait > RunEnqueuer.EnqueueAhead)
            {
                await enqueuer.RetryAtAsync(new RunToEnqueue(plan.RunId, plan.ScheduleId, plan.DueAt), time.GetUtcNow() + wait, cancellationToken);
                return null;
            }
            // Due within seconds (clocks differ a little): wait here rather than go round Hangfire again.
            await Task.Delay(wait + TimeSpan.FromMilliseconds(50), time, cancellationToken);
        }
    }

    private CallOutcome Outcome(RunPlan plan, TakenWaitingRun taken)
    {
        var now = time.GetUtcNow() is var clock && clock > taken.StartedAt ? clock : taken.StartedAt;
        var latency = Math.Round((now - taken.StartedAt).TotalMilliseconds, 3);
        return taken.CompletionStatus switch
        {
            RunStatus.Success => new CallOutcome(RunStatus.Success, taken.StartedAt, now, latency, taken.StatusCode, taken.ResponseSizeBytes, taken.ResponseExcerpt),
            RunStatus.Failed => new CallOutcome(RunStatus.Failed, taken.StartedAt, now, latency, taken.StatusCode, taken.ResponseSizeBytes, taken.ResponseExcerpt,
                ErrorType.CompletionFailed, taken.CompletionMessage is { Length: > 0 } message ? $"The target reported failure: {message}" : "The target reported failure."),
            _ => new CallOutcome(RunStatus.Timeout, taken.StartedAt, now, latency, taken.StatusCode, taken.ResponseSizeBytes, taken.ResponseExcerpt,
                ErrorType.CompletionTimeout, string.Create(CultureInfo.InvariantCulture,
                    $"The target accepted the call but sent no completion by {taken.Deadline:O} (completion_timeout_seconds {plan.CompletionTimeoutSeconds}).")),
        };
    }
}
