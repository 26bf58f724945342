using Microsoft.EntityFrameworkCore;
using Npgsql;
using Scheduler.Api.Security;
using Scheduler.Core.Jobs;

namespace Scheduler.Api.Runs;

/// <summary>Which runs a list shows: a schedule's, a status, a due-time range, and where the previous page ended.</summary>
internal sealed record RunFilter(long? ScheduleId, RunStatus? Status, DateTimeOffset? DueFrom, DateTimeOffset? DueTo, (DateTimeOffset DueAt, long Id)? After);

/// <summary>
/// Runs as the API reads and retries them; <c>RunsApi</c> and the seed adapters call it. A worker executes
/// runs (<c>Scheduler.Worker/Runs</c>); the API only lists them and reopens finished ones.
/// </summary>
internal sealed class RunService(SchedulerDbContext db, RunEnqueuer enqueuer, RunRedrive redrive, IOptions<LimitsOptions> limits, TimeProvider time)
{
    /// <summary>Runs matching <paramref name="filter"/>, latest due first (then by id, descending).</summary>
    public Task<List<Run>> ListAsync(RunFilter filter, int skip, int take, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var query = db.Runs.AsNoTracking();
        if (filter.ScheduleId is { } scheduleId)
        {
            query = query.Where(r => r.ScheduleId == scheduleId);
        }
        if (filter.Status is { } status)
        {
            query = query.Where(r => r.Status == status);
        }
        if (filter.DueFrom is { } from)
        {
            query = query.Where(r => r.DueAt >= from);
        }
        if (filter.DueTo is { } to)
        {
            query = query.Where(r => r.DueAt <= to);
        }
        if (filter.After is { } position)
        {
            query = query.Where(r => r.DueAt < position.DueAt || (r.DueAt == position.DueAt && r.Id < position.Id));
        }
        return query.OrderByDescending(r => r.DueAt).ThenByDescending(r => r.Id).Skip(skip).Take(take).ToListAsync(cancellationToken);
    }

    /// <summary>A run with its attempts and callback deliveries, or null.</summary>
    public Task<Run?> GetAsync(long id, CancellationToken cancellationToken) =>
        db.Runs.AsNoTracking().Include(r => r.Attempts).Include(r => r.CallbackDeliveries)
            .AsSplitQuery().FirstOrDefaultAsync(r => r.Id == id, cancellationToken);

    /// <summary>
    /// Reopens a finished run (PENDING, the next attempt manual, a remark starting with <paramref name="why"/>)
    /// and queues it now. Returns the run (null if there is none) and whether it was reopened (false while it is still going).
    /// </summary>
    public async Task<(Run? Run, bool Reopened)> RetryAsync(long id, string why, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var remark = $"{why} at {now:O}.";
        await db.Database.OpenConnectionAsync(cancellationToken);
        var reopened = await RunStatements.ReopenAsync((NpgsqlConnection)db.Database.GetDbConnection(), id, remark, cancellationToken);
        var run = await db.Runs.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, cancellationToken);
        if (run is not null && reopened)
        {
            await enqueuer.RetryAtAsync(new RunToEnqueue(run.Id, run.ScheduleId, run.DueAt), now, cancellationToken);
        }
        return (run, reopened);
    }

    /// <summary>
    /// One manual attempt now for every run <paramref name="filter"/> picks that ended unsuccessfully and was not
    /// retried since, at most <see cref="LimitsOptions.MaxRedriveRuns"/> (the oldest due first).
    /// </summary>
    public Task<RedriveResult> RedriveAsync(RedriveFilter filter, string why, CancellationToken cancellationToken) =>
        redrive.RedriveAsync(filter, limits.Value.MaxRedriveRuns, $"{why} at {time.GetUtcNow():O}.", cancellationToken);
}
