namespace Scheduler.Worker.Runs.Store;

/// <summary>
/// Runs one set-based statement for the runs going on at once: the requests that wait while one statement is
/// in flight go together into the next (<see cref="WriteBatcher{T}"/>), as arrays, so fifty runs of a batch
/// job load in one query, claim in one statement and commit once. A caller gets its run's row only after the
/// statement has committed. If a batch fails (a deadlock, a constraint), each request is run alone, so each
/// fails or succeeds on its own.
/// </summary>
/// <param name="execute">Runs the statement for the requests; returns a row per run id that produced one.</param>
/// <param name="runIdOf">The run a request is about.</param>
/// <param name="exclusive">
/// Only one request per run in a statement (claims): a second request for a run already in the batch gets no
/// row, as if another worker held the run.
/// </param>
/// <param name="maxPerBatch">The most requests one statement carries.</param>
internal sealed class StatementBatcher<TRequest, TRow>(
    Func<IReadOnlyList<TRequest>, Task<IReadOnlyDictionary<long, TRow>>> execute, Func<TRequest, long> runIdOf, bool exclusive = false, int maxPerBatch = 200)
    where TRow : class
{
    private sealed record Pending(TRequest Request, TaskCompletionSource<TRow?> Row);

    private readonly WriteBatcher<Pending> _batcher = new(batch => RunAsync(batch, execute, runIdOf, exclusive), maxPerBatch);

    public Task<TRow?> ExecuteAsync(TRequest request)
    {
        var pending = new Pending(request, new TaskCompletionSource<TRow?>(TaskCreationOptions.RunContinuationsAsynchronously));
        _batcher.Post(pending);
        return pending.Row.Task;
    }

    private static async Task RunAsync(IReadOnlyList<Pending> batch, Func<IReadOnlyList<TRequest>, Task<IReadOnlyDictionary<long, TRow>>> execute,
        Func<TRequest, long> runIdOf, bool exclusive)
    {
        var included = batch;
        if (exclusive)
        {
            var seen = new HashSet<long>();
            included = batch.Where(p => seen.Add(runIdOf(p.Request))).ToList();
            foreach (var duplicate in batch.Except(included))
            {
                duplicate.Row.TrySetResult(null);
            }
        }
        IReadOnlyDictionary<long, TRow> rows;
        try
        {
            rows = await execute(included.Select(p => p.Request).ToList());
        }
        catch (Exception) when (included.Count > 1)
        {
            foreach (var pending in included)
            {
                await RunAsync([pending], execute, runIdOf, exclusive);
            }
            return;
        }
        catch (Exception ex)
        {
            included[0].Row.TrySetException(ex);
            return;
        }
        foreach (var pending in included)
        {
            pending.Row.TrySetResult(rows.GetValueOrDefault(runIdOf(pending.Request)));
        }
    }
}
