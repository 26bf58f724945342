using System.Data;
using Hangfire.PostgreSql;
using Hangfire.Storage;
using Microsoft.Extensions.Logging;

namespace Scheduler.Core.Jobs;

/// <summary>
/// Hangfire's PostgreSQL job queue (the same <c>jobqueue</c> table, the same <c>NOTIFY new_job</c> on
/// enqueue, so the dashboard and every process agree), fetched with one LISTEN connection per process (a
/// session of its own, outside the pool).
/// Hangfire.PostgreSql's long polling gives every idle Hangfire worker a LISTEN connection of its own, so
/// each enqueued job wakes every idle worker of every process, and each wakes a server backend and runs a
/// fetch: measured here, with 2 worker processes of 20 workers, that was most of PostgreSQL's CPU during a
/// burst. Here a notification wakes one waiting worker of each process; a worker that fetched a job wakes
/// the next, so a batch of jobs drains without waiting for the poll interval, and an empty fetch ends the chain.
/// </summary>
internal sealed class SharedListenerJobQueue : IPersistentJobQueue, IDisposable
{
    private const string Channel = "new_job";

    private readonly PostgreSqlStorage _storage;
    private readonly string _connectionString;
    private readonly string _listenerConnectionString;
    private readonly string _schema;
    private readonly TimeSpan _invisibility;
    private readonly TimeSpan _pollInterval;
    private readonly ILogger _logger;
    private readonly RefetchedJobs _refetched;
    private readonly HandedJobs _handed = new(TimeProvider.System);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _startLock = new();
    private Task? _listening;

    // connectionString is Hangfire's pool, for the fetches; listenerConnectionString is for the LISTEN, a session
    // of its own that must not go through a pooler in transaction mode.
    public SharedListenerJobQueue(PostgreSqlStorage storage, string connectionString, string listenerConnectionString, PostgreSqlStorageOptions options, ILogger logger, RefetchedJobs? refetched = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        (_storage, _connectionString, _listenerConnectionString, _schema, _invisibility, _pollInterval, _logger) =
            (storage, connectionString, listenerConnectionString, options.SchemaName, options.InvisibilityTimeout, options.QueuePollInterval, logger);
        _refetched = refetched ?? new RefetchedJobs(null, null, logger);
    }

    public void Enqueue(IDbConnection connection, string queue, string jobId)
    {
        ArgumentNullException.ThrowIfNull(connection);
        // Runs inside Hangfire's transaction: the row and the notification are committed together.
        using var insert = (NpgsqlCommand)connection.CreateCommand();
        insert.CommandText = $"INSERT INTO \"{_schema}\".jobqueue (jobid, queue) VALUES ($1, $2)";
        insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = long.Parse(jobId, System.Globalization.CultureInfo.InvariantCulture) });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = queue });
        insert.ExecuteNonQuery();
        using var notify = (NpgsqlCommand)connection.CreateCommand();
        notify.CommandText = $"NOTIFY {Channel}";
        notify.ExecuteNonQuery();
    }

    public IFetchedJob Dequeue(string[] queues, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queues);
        EnsureListening();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TryFetch(queues) is { } job)
            {
                // There may be more: the next waiting worker looks too (it ends the chain if there are none).
                WakeOne();
                return job;
            }
            _wake.Wait(_pollInterval, cancellationToken);
        }
    }

    /// <summary>
    /// Takes the oldest visible job of the queues: never fetched, or fetched by a worker that stopped renewing it.
    /// The claim (<c>fetchedat</c>) commits only once the job is read and in hand, and nothing that can fail or
    /// wait comes after the commit: a claim committed and then lost before it reached a worker (the read
    /// failing, the connection dropping, a report of the earlier fetch throwing) would leave the job marked
    /// fetched with no worker holding or renewing it, invisible to every worker for the invisibility timeout.
    /// Rolled back instead, the job stays visible and the next fetch takes it.
    /// </summary>
    private IFetchedJob? TryFetch(string[] queues)
    {
        try
        {
            using var connection = new NpgsqlConnection(_connectionString);
            connection.Open();
            using var transaction = connection.BeginTransaction();
            // The row to claim is chosen once (a materialized CTE): as a subquery joined to the UPDATE, a plan
            // that rescans it (the join's inner side) picks the next row on each rescan, and one fetch claimed
            // several jobs, of which it handed over only the first; the rest waited the invisibility timeout.
            using var fetch = new NpgsqlCommand($"""
                WITH next AS MATERIALIZED (
                    SELECT id, fetchedat, updatecount FROM "{_schema}".jobqueue
                    WHERE queue = ANY ($1) AND (fetchedat IS NULL OR fetchedat < now() - $2)
                    ORDER BY fetchedat NULLS FIRST, jobid
                    LIMIT 1
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE "{_schema}".jobqueue q SET fetchedat = now(), updatecount = $3
                FROM next
                WHERE q.id = next.id
                RETURNING q.id, q.jobid, q.queue, q.fetchedat, next.fetchedat, next.updatecount
                """, connection, transaction);
            fetch.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = queues });
            fetch.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _invisibility });
            // Which process holds the claim, in the column Hangfire.PostgreSql uses only without native
            // transactions (never here): a claim that expires names the process that let it, for the report.
            fetch.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Environment.ProcessId });
            Claim claim;
            using (var reader = fetch.ExecuteReader())
            {
                if (!reader.Read())
                {
                    return null;
                }
                claim = new Claim(reader.GetInt64(0), reader.GetInt64(1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    reader.GetString(2), reader.GetDateTime(3), reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4), reader.GetInt32(5));
                if (reader.Read())
                {
                    // A claim only one worker would receive: rolled back (below), so every job stays visible.
                    throw new InvalidOperationException($"The fetch claimed more than one job ({claim.JobId}, {reader.GetInt64(1)}, ...); rolled back.");
                }
            }
            if (claim.EarlierFetch is { } earlier)
            {
                // Fetched before, and since then neither finished, handed back nor renewed: its worker died or
                // stalled, or the job was lost on its way to a worker. Either way its runs waited the invisibility
                // timeout. Said (logged, counted, remarked on the runs) before the commit: a report that fails
                // rolls the claim back instead of losing the job.
                _refetched.Report(claim.JobId, earlier, claim.EarlierClaimant, _invisibility,
                    claim.EarlierClaimant == Environment.ProcessId ? _handed.History(claim.JobId) : null);
            }
            Claimed?.Invoke(claim.JobId);
            transaction.Commit();
            // Built after the commit: its keep-alive renews the committed claim.
            return _handed.HandOver(new PostgreSqlFetchedJob(_storage, claim.Id, claim.JobId, claim.Queue, claim.FetchedAt));
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // The database is away: wait a poll interval, as an empty fetch does, and try again.
            Log.JobFetchFailed(_logger, ex.Message);
            return null;
        }
        catch (Exception ex)
        {
            // Hangfire's worker loop logs a passing fault at Debug only: say it here, where it can be seen.
            Log.JobFetchThrew(_logger, $"{ex.GetType().Name}: {ex.Message}", ex);
            throw;
        }
    }

    /// <summary>Test hook: runs each time the listener has executed LISTEN, before it waits.</summary>
    internal Action? Listening { get; init; }

    /// <summary>Test hook: runs after a job is claimed and read, before the claim commits.</summary>
    internal Action<string>? Claimed { get; init; }

    private sealed record Claim(long Id, string JobId, string Queue, DateTime FetchedAt, DateTimeOffset? EarlierFetch, int EarlierClaimant);

    private void WakeOne()
    {
        // One pending wake-up is enough: a woken worker fetches until the queue is empty.
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    private void EnsureListening()
    {
        if (_listening is not null)
        {
            return;
        }
        lock (_startLock)
        {
            _listening ??= Task.Run(ListenAsync);
        }
    }

    private async Task ListenAsync()
    {
        var stopping = _stopping.Token;
        var builder = new NpgsqlConnectionStringBuilder(_listenerConnectionString) { Pooling = false, KeepAlive = 30 };
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                connection.Notification += (_, _) => WakeOne();
                await connection.OpenAsync(stopping);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stopping);
                }
                Listening?.Invoke();
                // Jobs enqueued while no one listened are fetched now.
                WakeOne();
                while (!stopping.IsCancellationRequested)
                {
                    await connection.WaitAsync(stopping);
                }
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                // Stopping: whatever the wait ended with, the listener is done.
                return;
            }
            catch (Exception ex)
            {
                // Until the listener is back, waiting workers poll. Whatever the fault, it listens again: a listener
                // that ended on an unexpected exception would leave every worker of the process polling, silently.
                if (ex is NpgsqlException or TimeoutException or IOException or System.Net.Sockets.SocketException)
                {
                    Log.JobListenerLost(_logger, ex.Message);
                }
                else
                {
                    Log.JobListenerFailed(_logger, $"{ex.GetType().Name}: {ex.Message}", ex);
                }
                WakeOne();
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stopping);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        _wake.Dispose();
    }
}

/// <summary>Serves <see cref="SharedListenerJobQueue"/> for Scheduler's queues; the dashboard's queue views are Hangfire.PostgreSql's own.</summary>
internal sealed class SharedListenerJobQueueProvider(SharedListenerJobQueue queue, IPersistentJobQueueProvider monitoring) : IPersistentJobQueueProvider
{
    public IPersistentJobQueue GetJobQueue() => queue;

    public IPersistentJobQueueMonitoringApi GetJobQueueMonitoringApi() => monitoring.GetJobQueueMonitoringApi();
}
