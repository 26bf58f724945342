using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.Logging;

namespace Scheduler.Core.Jobs;

/// <summary>
/// Keeps Hangfire's Failed page a dead-letter list. A run job that ended Failed (<see cref="RunsFailedException"/>)
/// is kept, not expired, while a run it failed is still unsuccessful and still its run; once every such run
/// was retried in another job (POST /runs/{id}/retry, redrive), succeeded there, or was deleted, the job moves
/// to Deleted with a reason saying so (and expires like every finished job). A requeue takes a job off the
/// page by itself. Reconciliation calls it each pass; a pass looks at <c>limit</c> failed jobs, the next pass
/// at the next ones, so a long list is walked through without one long pass.
/// </summary>
public sealed class FailedRunJobs(JobStorage storage, IBackgroundJobClient jobs, NpgsqlDataSource database, ILogger<FailedRunJobs> logger)
{
    private static readonly string ExceptionType = typeof(RunsFailedException).FullName!;

    private const string RunsSql = "SELECT id, status, hangfire_job_id FROM scheduler.runs WHERE id = ANY($1)";

    // Where the next pass starts in the Failed list; only reconciliation's one pass at a time moves it.
    private long _offset;

    /// <summary>Moves the failed run jobs with nothing left to retry to Deleted; returns how many.</summary>
    public async Task<int> ClearSettledAsync(int limit, CancellationToken cancellationToken)
    {
        var page = storage.GetMonitoringApi().FailedJobs((int)Math.Min(_offset, int.MaxValue), limit);
        _offset = page.Count < limit ? 0 : _offset + page.Count;
        var carried = new Dictionary<string, long[]>();
        foreach (var (jobId, failed) in page)
        {
            if (failed.ExceptionType == ExceptionType && RunIdsOf(failed.Job) is { Length: > 0 } runIds)
            {
                carried[jobId] = runIds;
            }
        }
        if (carried.Count == 0)
        {
            return 0;
        }
        var runs = await ReadRunsAsync(carried.Values.SelectMany(ids => ids).Distinct().ToArray(), cancellationToken);
        var cleared = 0;
        foreach (var (jobId, runIds) in carried)
        {
            if (runIds.Any(id => runs.TryGetValue(id, out var run) && run.Status.IsUnsuccessful() && run.JobId == jobId))
            {
                continue;
            }
            var reason = "Nothing left to retry: " + string.Join("; ", runIds.Take(20).Select(id => runs.TryGetValue(id, out var run)
                ? run.JobId == jobId ? $"run #{id} is {WireName.Of(run.Status)}" : $"run #{id} went on in job {run.JobId} ({WireName.Of(run.Status)})"
                : $"run #{id} was deleted")) + (runIds.Length > 20 ? $"; and {runIds.Length - 20} more." : ".");
            // Only from Failed: a job requeued meanwhile is left to run.
            if (jobs.ChangeState(jobId, new DeletedState { Reason = reason }, FailedState.StateName))
            {
                cleared++;
            }
        }
        if (cleared > 0)
        {
            Log.FailedJobsCleared(logger, cleared);
        }
        return cleared;
    }

    /// <summary>The runs a run job carries: its first argument, one id or an array of them.</summary>
    private static long[]? RunIdsOf(Hangfire.Common.Job? job) => !RunJobStatesFilter.IsRunJob(job) ? null : job!.Args[0] switch
    {
        long id => [id],
        long[] ids => ids,
        _ => null,
    };

    private async Task<Dictionary<long, (RunStatus Status, string? JobId)>> ReadRunsAsync(long[] ids, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(RunsSql);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = ids });
        var runs = new Dictionary<long, (RunStatus, string?)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            runs[reader.GetInt64(0)] = (WireName.Parse<RunStatus>(reader.GetString(1)), reader.IsDBNull(2) ? null : reader.GetString(2));
        }
        return runs;
    }
}
