using Hangfire.Common;
using Hangfire.Storage;
using Scheduler.Core.Observability;
using Scheduler.Worker.Runs;
using Scheduler.Worker.Runs.Store;

namespace Scheduler.Worker.Hosting;

/// <summary>
/// Walks a run's whole path once before the worker takes jobs, against ids that do not exist and a
/// closed loopback port, so nothing is written or called. A fresh worker otherwise spends its first few
/// hundred milliseconds compiling that path, and its first runs would start that much late.
/// </summary>
internal sealed class WorkerWarmup(
    RunPlanQuery plans, RunClaimStatement claims, RunLeaseStatements leases, RunFinishStatement finishes, HttpCallExecutor executor, WorkerIdentity worker, TimeProvider time, ILogger<WorkerWarmup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        // Its call to the closed port is nobody's: its span is never exported.
        using var traces = WarmUpTraces.Begin();
        const long none = -1;
        var now = time.GetUtcNow();
        _ = await plans.LoadAsync(none, cancellationToken);
        _ = await claims.ClaimAsync(none, worker.Name, now, null, cancellationToken);
        _ = await leases.RenewAsync(none, worker.Name, cancellationToken);
        _ = await leases.ReadAsync(none, cancellationToken);
        var plan = new RunPlan(none, none, now, RunStatus.Pending, ScheduleType.Immediate, OverlapPolicy.Skip, [], false, null,
            "http://127.0.0.1:9/", "GET", new Dictionary<string, string>(), null, 1, 0);
        _ = await plans.EarlierRunsActiveAsync(plan, cancellationToken);
        var outcome = await executor.CallAsync(plan, 1, null, cancellationToken);
        _ = await finishes.FinishAsync(new RunClaim(none, none, 1, null), none, worker.Name, now, outcome, new AttemptConsequence(null, 1, null));
        _ = InvocationData.SerializeJob(Job.FromExpression<IRunJob>(job => job.ExecuteAsync(none, none, default, null, CancellationToken.None)));
        _ = InvocationData.SerializeJob(Job.FromExpression<IRunBatchJob>(job => job.ExecuteAsync(new[] { none }, "", default, null, CancellationToken.None)));
        Log.WarmedUp(logger, time.GetElapsedTime(started).TotalMilliseconds);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
