using Npgsql;
using Scheduler.Core.Persistence;

namespace Scheduler.Worker.Execution;

/// <summary>
/// Runs the single-row statements of concurrent runs (claims, outcomes) together: the statements waiting
/// while one batch is in flight go as the next <see cref="NpgsqlBatch"/>, one round trip and one implicit
/// transaction, so fifty runs of a batch job make one commit instead of fifty. A caller's result is
/// given only once the whole batch has committed. If a batch fails (a deadlock, a constraint), its
/// statements are run again one by one, so each fails or succeeds on its own.
/// </summary>
internal sealed class StatementBatcher
{
    private readonly NpgsqlDataSource _database;
    private readonly WriteBatcher<Request> _batcher;

    public StatementBatcher(NpgsqlDataSource database, int maxPerBatch = 100)
    {
        _database = database;
        _batcher = new WriteBatcher<Request>(RunAsync, maxPerBatch);
    }

    /// <summary>A statement, the order key that keeps concurrent batches from deadlocking, and how to read its one row.</summary>
    private sealed record Request(Func<NpgsqlBatchCommand> Command, long OrderKey, Func<NpgsqlDataReader, object?> Read, TaskCompletionSource<object?> Result);

    /// <summary>
    /// Runs the statement in the next batch and returns its first row read by <paramref name="read"/>, or
    /// default when it returned none. Statements of one batch lock rows in <paramref name="orderKey"/> order.
    /// </summary>
    public async Task<T?> ExecuteAsync<T>(Func<NpgsqlBatchCommand> command, long orderKey, Func<NpgsqlDataReader, T> read)
    {
        var request = new Request(command, orderKey, reader => read(reader), new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously));
        _batcher.Post(request);
        return await request.Result.Task is T row ? row : default;
    }

    private async Task RunAsync(IReadOnlyList<Request> requests)
    {
        var ordered = requests.OrderBy(r => r.OrderKey).ToArray();
        object?[] rows;
        try
        {
            rows = await ExecuteBatchAsync(ordered);
        }
        catch (Exception) when (ordered.Length > 1)
        {
            foreach (var request in ordered)
            {
                await RunAsync([request]);
            }
            return;
        }
        catch (Exception ex)
        {
            ordered[0].Result.TrySetException(ex);
            return;
        }
        for (var i = 0; i < ordered.Length; i++)
        {
            ordered[i].Result.TrySetResult(rows[i]);
        }
    }

    private async Task<object?[]> ExecuteBatchAsync(Request[] requests)
    {
        await using var batch = _database.CreateBatch();
        foreach (var request in requests)
        {
            batch.BatchCommands.Add(request.Command());
        }
        var rows = new object?[requests.Length];
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            for (var i = 0; i < requests.Length; i++)
            {
                if (i > 0)
                {
                    await reader.NextResultAsync();
                }
                rows[i] = await reader.ReadAsync() ? requests[i].Read(reader) : null;
            }
            // Read to the end: the commit's outcome comes after the last result.
            while (await reader.NextResultAsync())
            {
            }
        }
        return rows;
    }
}
