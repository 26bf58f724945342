using Npgsql;
using Scheduler.Core.Jobs;
using Scheduler.Core.Model;
using Scheduler.Core.Persistence;

namespace Scheduler.Api.Endpoints;

/// <summary>
/// Commits new schedules (with their inline targets and, for IMMEDIATE, their runs). Requests that arrive
/// while a commit is in flight share the next one: under load many POSTs make one transaction, and alone a
/// POST makes the same single commit as before. A request is answered only once its rows are committed.
/// After the commit the runs are handed to Hangfire (<see cref="RunHandOff"/>) and the dispatchers are told
/// the earliest next occurrence, once for the whole batch.
/// </summary>
public sealed class ScheduleWriter
{
    private readonly IServiceScopeFactory _scopes;
    private readonly RunHandOff _handOff;
    private readonly NpgsqlDataSource _database;
    private readonly ILogger<ScheduleWriter> _logger;
    private readonly WriteBatcher<Pending> _batcher;

    public ScheduleWriter(IServiceScopeFactory scopes, RunHandOff handOff, NpgsqlDataSource database, ILogger<ScheduleWriter> logger)
    {
        (_scopes, _handOff, _database, _logger) = (scopes, handOff, database, logger);
        _batcher = new WriteBatcher<Pending>(WriteAsync, MaxSchedulesPerCommit, weight: p => p.Schedules.Count);
    }

    /// <summary>The most schedules one transaction carries (a bulk request larger than this is still one transaction).</summary>
    public const int MaxSchedulesPerCommit = 1000;

    private sealed record Pending(IReadOnlyList<Schedule> Schedules, IReadOnlyList<Run> Runs, TaskCompletionSource Committed);

    /// <summary>
    /// Commits the schedules and runs (each run's <see cref="Run.Schedule"/> is one of the schedules) in one
    /// transaction, possibly with other requests' rows. Completes when they are committed; fails, with nothing
    /// of this request written, when they could not be.
    /// </summary>
    public Task SaveAsync(IReadOnlyList<Schedule> schedules, IReadOnlyList<Run> runs)
    {
        var pending = new Pending(schedules, runs, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _batcher.Post(pending);
        return pending.Committed.Task;
    }

    private async Task WriteAsync(IReadOnlyList<Pending> batch)
    {
        try
        {
            await CommitAsync(batch);
        }
        catch (Exception) when (batch.Count > 1)
        {
            // One request's rows must not fail another's: each goes alone, and fails alone.
            foreach (var pending in batch)
            {
                ResetKeys(pending);
                await WriteAsync([pending]);
            }
            return;
        }
        catch (Exception ex)
        {
            ResetKeys(batch[0]);
            batch[0].Committed.TrySetException(ex);
            return;
        }

        foreach (var pending in batch)
        {
            pending.Committed.TrySetResult();
            foreach (var run in pending.Runs)
            {
                _handOff.Post(new RunToEnqueue(run.Id, run.ScheduleId, run.DueAt));
            }
        }
        await WakeDispatchersAsync(batch);
    }

    private async Task CommitAsync(IReadOnlyList<Pending> batch)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SchedulerDbContext>();
        foreach (var pending in batch)
        {
            db.Schedules.AddRange(pending.Schedules);
            db.Runs.AddRange(pending.Runs);
        }
        await db.SaveChangesAsync(CancellationToken.None);
    }

    /// <summary>After a failed commit, keys the database handed out in the rolled-back transaction are not the rows' keys.</summary>
    private static void ResetKeys(Pending pending)
    {
        foreach (var schedule in pending.Schedules)
        {
            schedule.Id = 0;
            if (schedule.Target is { } inline)
            {
                inline.Id = 0;
                schedule.TargetId = null;
            }
        }
        foreach (var run in pending.Runs)
        {
            run.Id = 0;
            run.ScheduleId = 0;
        }
    }

    /// <summary>
    /// One notification for the batch, after the commit (a dispatcher woken earlier would not see the rows):
    /// the earliest next occurrence. Dispatchers also look on their own every few seconds, so a lost
    /// notification delays, never loses, an occurrence.
    /// </summary>
    private async Task WakeDispatchersAsync(IReadOnlyList<Pending> batch)
    {
        var earliest = batch.SelectMany(p => p.Schedules)
            .Where(s => s is { Status: ScheduleStatus.Active, DeletedAt: null, NextRunAt: not null })
            .Min(s => s.NextRunAt);
        if (earliest is not { } next)
        {
            return;
        }
        try
        {
            await using var notify = _database.CreateCommand(DispatchSignal.NotifyCommand);
            notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = DispatchSignal.Payload(next) });
            await notify.ExecuteNonQueryAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            Log.DispatchersNotWoken(_logger, ex.Message);
        }
    }
}
