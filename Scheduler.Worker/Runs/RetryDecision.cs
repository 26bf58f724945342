namespace Scheduler.Worker.Runs;

/// <summary>What follows an attempt: another attempt at a time, or the end of the run and its callback.</summary>
/// <param name="RetryAt">When the next attempt is due; null when the run ends with this attempt.</param>
/// <param name="MaxAttempts">The attempts the run may make in all.</param>
/// <param name="Callback">Where the run's end is reported, when it ends and a callback is configured.</param>
internal sealed record AttemptConsequence(DateTimeOffset? RetryAt, int MaxAttempts, (string Url, DeliveryKind Kind)? Callback);

/// <summary>
/// Where a retry is decided, and the only place: a failed attempt is tried again when it is retryable
/// (<see cref="CallOutcome.IsRetryable"/>), attempts are left and it was not a manual attempt; the delay is
/// <see cref="RetryPolicy"/>'s backoff or the target's Retry-After. The two other mechanisms that re-queue
/// work decide no retry: Hangfire's automatic retry (Core's hosting) re-runs a job only when it could not
/// reach the database, so no call was made or recorded; reconciliation re-queues a run whose retry was
/// already decided here (its <c>next_attempt_at</c>) but lost its job.
/// </summary>
internal sealed class RetryDecision(IOptions<ExecutionOptions> options)
{
    public AttemptConsequence Decide(RunPlan plan, RunClaim claim, CallOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(outcome);
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
        return new AttemptConsequence(retryAt, maxAttempts, callback);
    }
}
