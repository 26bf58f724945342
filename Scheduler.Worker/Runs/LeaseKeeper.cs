using Scheduler.Worker.Runs.Store;

namespace Scheduler.Worker.Runs;

/// <summary>
/// Keeps a claimed run's lease while the worker waits for the due time and makes the call: renews it every
/// <see cref="ExecutionOptions.LeaseRenewalSeconds"/>, and signals when it is lost (another worker took the
/// run over) so the call is abandoned.
/// </summary>
internal sealed class LeaseKeeper(RunLeaseStatements leases, WorkerIdentity worker, TimeProvider time, IOptions<ExecutionOptions> options, ILogger<LeaseKeeper> logger)
{
    /// <summary>Starts renewing; the lease is kept until the returned hold is stopped.</summary>
    public HeldLease Keep(long runId, CancellationToken shutdown)
    {
        var lost = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        return new HeldLease(lost, RenewUntilDoneAsync(runId, lost));
    }

    /// <summary>
    /// Runs a wait that comes before the call (for the due time, for the target's limits) under the run's lease, and
    /// answers what it answers. False when the lease was lost meanwhile (it is then stopped). At shutdown the run is
    /// given back as if never taken, and the shutdown rethrown.
    /// </summary>
    public async Task<bool> WaitBeforeCallAsync(RunPlan plan, RunClaim claim, HeldLease lease, Func<Task<bool>> wait, CancellationToken shutdown)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(wait);
        try
        {
            return await wait();
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            await lease.StopAsync();
            await leases.ReleaseUnstartedAsync(claim, worker.Name, CancellationToken.None);
            throw;
        }
        catch (OperationCanceledException) when (lease.IsLost)
        {
            await lease.StopAsync();
            Log.LeaseLost(logger, plan.RunId, claim.AttemptNumber);
            return false;
        }
    }

    private async Task RenewUntilDoneAsync(long runId, CancellationTokenSource done)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.LeaseRenewalSeconds), time);
        // Every run stops its lease when its call ends: disposing the timer ends the wait with false, where waiting on
        // the token would end it with an OperationCanceledException (one thrown and caught per run, ~1,000 a second
        // in a worker under load).
        await using var stop = done.Token.UnsafeRegister(static state => ((PeriodicTimer)state!).Dispose(), timer);
        try
        {
            while (await timer.WaitForNextTickAsync(CancellationToken.None))
            {
                if (!await leases.RenewAsync(runId, worker.Name, done.Token))
                {
                    await done.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The call ended, or shutdown began, during a renewal: nothing more to renew.
        }
        catch (Npgsql.NpgsqlException ex)
        {
            // The database is unreachable: the lease will lapse and another worker may take over.
            Log.LeaseRenewalFailed(logger, runId, ex.Message);
        }
    }
}

/// <summary>A lease being renewed: <see cref="Token"/> is cancelled when it is lost or shutdown begins.</summary>
internal sealed class HeldLease(CancellationTokenSource lost, Task renewal) : IAsyncDisposable
{
    public CancellationToken Token => lost.Token;

    /// <summary>Renewal stopped because the run is no longer this worker's (or at shutdown; check that first).</summary>
    public bool IsLost => lost.IsCancellationRequested;

    /// <summary>Stops renewing and waits until renewal has stopped.</summary>
    public async Task StopAsync()
    {
        await lost.CancelAsync();
        await renewal;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        lost.Dispose();
    }
}
