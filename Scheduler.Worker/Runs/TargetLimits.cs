using System.Globalization;
using Scheduler.Core.Security;
using Scheduler.Worker.Runs.Store;

namespace Scheduler.Worker.Runs;

/// <summary>
/// A target's rate and concurrency limits (its own, else its host's default from <c>Outbound:HostLimits</c>),
/// enforced across all workers by state in PostgreSQL (<see cref="TargetLimitStatements"/>). Decided after
/// the due time, before each attempt's call (retries and manual attempts too): first a concurrency slot, then
/// the rate limit's turn. A run whose turn is near waits here, under its lease; one whose turn is further off
/// waits in Hangfire's scheduled set, holding no worker. A first attempt that could start only
/// max_delay_seconds or more after its due time is skipped. A run without limits costs nothing here.
/// </summary>
internal sealed class TargetLimits
{
    /// <summary>Waits up to this long are waited in the worker; longer ones in Hangfire's scheduled set.</summary>
    internal static readonly TimeSpan WaitInWorker = RunEnqueuer.EnqueueAhead;

    // A postponed run's job is scheduled this much before its turn, so that Hangfire's polling of the
    // scheduled set does not make it miss the turn; it waits the rest in the worker.
    private static readonly TimeSpan ReturnAhead = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan FirstSlotRecheck = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxSlotRecheck = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxPostponement = TimeSpan.FromSeconds(30);

    private readonly TargetLimitStatements statements;
    private readonly LeaseKeeper leases;
    private readonly RunSkipStatements skips;
    private readonly RunEnqueuer enqueuer;
    private readonly WorkerIdentity worker;
    private readonly TimeProvider time;
    private readonly ILogger<TargetLimits> logger;
    private readonly Dictionary<string, HostLimitOptions> hostLimits = new(StringComparer.OrdinalIgnoreCase);

    public TargetLimits(TargetLimitStatements statements, LeaseKeeper leases, RunSkipStatements skips, RunEnqueuer enqueuer,
        WorkerIdentity worker, TimeProvider time, IOptions<OutboundOptions> outbound, ILogger<TargetLimits> logger)
    {
        (this.statements, this.leases, this.skips, this.enqueuer, this.worker, this.time, this.logger) = (statements, leases, skips, enqueuer, worker, time, logger);
        foreach (var (host, limits) in outbound.Value.HostLimits)
        {
            hostLimits.TryAdd(host, limits);
        }
    }

    /// <summary>The limits the run's call is under: the target's own, else its host's default; none for a named job.</summary>
    internal CallLimits Of(RunPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Url is null)
        {
            return CallLimits.None;
        }
        HostLimitOptions? host = null;
        string? hostName = null;
        // Only when host defaults are configured is the URL parsed: a run without limits pays nothing.
        if (hostLimits.Count > 0 && (plan.RateLimitPerSecond is null || plan.MaxConcurrency is null)
            && Uri.TryCreate(plan.Url, UriKind.Absolute, out var url) && hostLimits.TryGetValue(url.Host, out host))
        {
            hostName = url.Host;
        }
        if (host is null && plan.RateLimitPerSecond is null && plan.MaxConcurrency is null)
        {
            return CallLimits.None;
        }
        var own = $"target:{plan.TargetId}";
        var ownLabel = $"target {plan.TargetId}";
        return new CallLimits(
            plan.RateLimitPerSecond is { } rate ? new Limit<double>(own, rate, ownLabel)
                : host?.RateLimitPerSecond is { } hostRate ? new Limit<double>($"host:{hostName}", hostRate, $"the default of host {hostName}") : null,
            plan.MaxConcurrency is { } max ? new Limit<int>(own, max, ownLabel)
                : host?.MaxConcurrency is { } hostMax ? new Limit<int>($"host:{hostName}", hostMax, $"the default of host {hostName}") : null);
    }

    /// <summary>
    /// Waits for the run's turn under its limits. True when the call may begin now; false when the run does not
    /// go on here (it was postponed, skipped or its lease lost; the lease is then stopped). At shutdown the run is
    /// given back, as if never taken, and the shutdown rethrown.
    /// </summary>
    public async Task<bool> AwaitTurnAsync(RunPlan plan, RunClaim claim, HeldLease lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(lease);
        var limits = Of(plan);
        if (limits.IsNone)
        {
            return true;
        }
        var since = time.GetUtcNow();
        return await leases.WaitBeforeCallAsync(plan, claim, lease, async () =>
        {
            var waitedFor = new List<string>();
            if (limits.Concurrency is { } concurrency && !await TakeSlotAsync(plan, claim, lease, concurrency, since, waitedFor))
            {
                return false;
            }
            var turn = TimeSpan.Zero;
            if (limits.Rate is { } rate)
            {
                if (await TakeTurnAsync(plan, claim, lease, rate, since, waitedFor) is not { } rateWait)
                {
                    return false;
                }
                turn = rateWait;
            }
            if (waitedFor.Count > 0 || plan.LimitWaitSince is not null)
            {
                var remark = string.Create(CultureInfo.InvariantCulture,
                    $"Waited {(time.GetUtcNow() + turn - (plan.LimitWaitSince ?? since)).TotalSeconds:0.000} s for {(waitedFor.Count > 0 ? string.Join(" and ", waitedFor.Distinct()) : "its target's limits")} before attempt {claim.AttemptNumber} began its call.");
                // Not waited for: on a busy database the statement would delay the call past its turn.
                _ = RecordWaitAsync(plan.RunId, remark);
            }
            await WaitAsync(turn, lease);
            return true;
        }, cancellationToken);
    }

    /// <summary>A first attempt may not start max_delay_seconds or more after its due time (seed 002).</summary>
    private static DateTimeOffset? Deadline(RunPlan plan, RunClaim claim) =>
        plan is { AttemptCount: 0, RetryRequested: false, MaxDelaySeconds: { } maxDelay } && !claim.Manual ? plan.DueAt.AddSeconds(maxDelay) : null;

    /// <summary>
    /// A concurrency slot: re-checked after a growing delay while the wait stays short, then the run is put back
    /// to wait in Hangfire's scheduled set (re-checked after longer the longer it has waited).
    /// </summary>
    private async Task<bool> TakeSlotAsync(RunPlan plan, RunClaim claim, HeldLease lease, Limit<int> limit, DateTimeOffset since, List<string> waitedFor)
    {
        var recheck = FirstSlotRecheck;
        while (!await statements.TakeSlotAsync(limit.Key, plan.RunId, worker.Name, limit.Value, lease.Token))
        {
            waitedFor.Add($"a free slot of max_concurrency {limit.Value} ({limit.Source})");
            var now = time.GetUtcNow();
            if (Deadline(plan, claim) is { } deadline && now + recheck >= deadline)
            {
                await SkipAsync(plan, claim, lease, $"Skipped: no slot of its target's max_concurrency ({limit.Value}, {limit.Source}) came free before max_delay_seconds ({plan.MaxDelaySeconds}) after its due time.");
                return false;
            }
            if (now - since >= WaitInWorker)
            {
                var waited = now - (plan.LimitWaitSince ?? since);
                var after = TimeSpan.FromTicks(Math.Clamp(waited.Ticks / 2, TimeSpan.TicksPerSecond, MaxPostponement.Ticks));
                await PostponeAsync(plan, claim, lease, now + after, null, since, $"max_concurrency {limit.Value} ({limit.Source})");
                return false;
            }
            await Task.Delay(recheck, time, lease.Token);
            recheck = recheck * 2 < MaxSlotRecheck ? recheck * 2 : MaxSlotRecheck;
        }
        return true;
    }

    /// <summary>
    /// The rate limit's turn: the one reserved while the run waited in the scheduled set if it is still due,
    /// else a new one. Returns the time left until it, to be waited here; null when the run does not go on here
    /// (its turn is far off, so it waits in the scheduled set, or comes too late for max_delay_seconds).
    /// </summary>
    private async Task<TimeSpan?> TakeTurnAsync(RunPlan plan, RunClaim claim, HeldLease lease, Limit<double> limit, DateTimeOffset since, List<string> waitedFor)
    {
        var interval = TimeSpan.FromSeconds(1 / limit.Value);
        var now = time.GetUtcNow();
        // A reserved turn missed by more than this is taken again, so the calls keep their spacing.
        var grace = interval / 2 < TimeSpan.FromSeconds(1) ? interval / 2 : TimeSpan.FromSeconds(1);
        if (plan.LimitTurnAt is { } reserved && now - reserved <= grace && now >= reserved - WaitInWorker)
        {
            waitedFor.Add($"its turn under the rate limit of {Rate(limit.Value)} ({limit.Source})");
            return reserved > now ? reserved - now : TimeSpan.Zero;
        }
        var deadline = Deadline(plan, claim);
        var turn = await statements.TakeTurnAsync(limit.Key, interval, deadline ?? now.AddYears(1), lease.Token);
        if (!turn.Taken)
        {
            await SkipAsync(plan, claim, lease, string.Create(CultureInfo.InvariantCulture,
                $"Skipped: its target's rate limit ({Rate(limit.Value)}, {limit.Source}) has no turn for it until {turn.Wait.TotalSeconds:0.0} s from now, max_delay_seconds ({plan.MaxDelaySeconds}) or more after its due time."));
            return null;
        }
        if (turn.Wait <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }
        waitedFor.Add($"its turn under the rate limit of {Rate(limit.Value)} ({limit.Source})");
        if (turn.Wait > WaitInWorker)
        {
            var at = now + turn.Wait;
            await PostponeAsync(plan, claim, lease, at, at, since, $"the rate limit of {Rate(limit.Value)} ({limit.Source})");
            return null;
        }
        return turn.Wait;
    }

    /// <summary>The remark on the wait; a note, so a failure to write it is logged rather than failing the run.</summary>
    private async Task RecordWaitAsync(long runId, string remark)
    {
        try
        {
            await statements.RecordWaitAsync(runId, remark, CancellationToken.None);
            Log.LimitWaited(logger, runId, remark);
        }
        catch (Npgsql.NpgsqlException ex)
        {
            Log.LimitRemarkFailed(logger, runId, ex.Message);
        }
    }

    /// <summary>Waits <paramref name="wait"/>, never less: timers may fire early, so the clock is read again.</summary>
    private async Task WaitAsync(TimeSpan wait, HeldLease lease)
    {
        var until = time.GetUtcNow() + wait;
        while (until - time.GetUtcNow() is { Ticks: > 0 } left)
        {
            await Task.Delay(left, time, lease.Token);
        }
    }

    private async Task PostponeAsync(RunPlan plan, RunClaim claim, HeldLease lease, DateTimeOffset at, DateTimeOffset? turnAt, DateTimeOffset since, string reason)
    {
        await lease.StopAsync();
        await statements.PostponeAsync(claim, worker.Name, at, turnAt, since, CancellationToken.None);
        var jobAt = turnAt is null ? at : at - ReturnAhead;
        await enqueuer.RetryAtAsync(new RunToEnqueue(plan.RunId, plan.ScheduleId, plan.DueAt), jobAt, CancellationToken.None);
        Log.LimitPostponed(logger, plan.RunId, reason, at);
    }

    private async Task SkipAsync(RunPlan plan, RunClaim claim, HeldLease lease, string remark)
    {
        await lease.StopAsync();
        await skips.SkipClaimedAsync(claim, worker.Name, remark, time.GetUtcNow(), CancellationToken.None);
        Log.RunSkipped(logger, plan.RunId, remark);
    }

    private static string Rate(double perSecond) => string.Create(CultureInfo.InvariantCulture, $"{perSecond:0.###} a second");
}

/// <summary>The limits of one call; either may be absent.</summary>
internal sealed record CallLimits(Limit<double>? Rate, Limit<int>? Concurrency)
{
    public static readonly CallLimits None = new(null, null);

    public bool IsNone => Rate is null && Concurrency is null;
}

/// <summary>A limit: the key its state is kept under (<c>target:{id}</c> or <c>host:{host}</c>), its value, and whose it is.</summary>
internal sealed record Limit<T>(string Key, T Value, string Source);
