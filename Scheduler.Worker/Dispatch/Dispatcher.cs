using Hangfire.Server;
using Microsoft.Extensions.Options;
using Npgsql;
using Scheduler.Core.Hosting;
using Scheduler.Core.Jobs;

namespace Scheduler.Worker.Dispatch;

/// <summary>
/// A Hangfire background process in every worker: turns due occurrences of recurring and ONCE schedules
/// into runs and queues them a lead time ahead, so each call starts on its due time. It sleeps until the
/// next occurrence enters the lead window, and wakes at once on <see cref="DispatchSignal.Channel"/>
/// when schedules change; at most <see cref="SchedulingOptions.MaxIdle"/> between looks. Several
/// dispatchers may run (one per worker): <c>SKIP LOCKED</c> shares the work, the unique index keeps
/// one run per occurrence.
/// </summary>
internal sealed class Dispatcher(
    DispatchStore store,
    RunEnqueuer enqueuer,
    NpgsqlDataSource database,
    IOptions<SchedulingOptions> options,
    ILogger<Dispatcher> logger) : IBackgroundProcess, IDisposable
{
    private NpgsqlConnection? _listener;

    public void Execute(BackgroundProcessContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        // Hangfire calls Execute in a loop on a thread of its own; one call is one dispatch cycle.
        ExecuteCycleAsync(context.StoppingToken).GetAwaiter().GetResult();
    }

    private async Task ExecuteCycleAsync(CancellationToken stopping)
    {
        var settings = options.Value;
        try
        {
            var listener = await ListenAsync(stopping);
            DispatchResult result;
            do
            {
                result = await store.DispatchAsync(settings.Rules, settings.BatchSize, stopping);
                if (result.Claimed > 0)
                {
                    await enqueuer.EnqueueManyAsync(result.ToEnqueue, CancellationToken.None);
                    Log.Dispatched(logger, result.Claimed, result.ToEnqueue.Count, result.Skipped);
                }
            }
            while (result.Claimed == settings.BatchSize && !stopping.IsCancellationRequested);

            var untilNext = await store.TimeUntilNextAsync(settings.LeadTime, stopping) ?? settings.MaxIdle;
            // Whole milliseconds, at least one: Npgsql reads a timeout of 0 ms as "wait forever".
            var wait = TimeSpan.FromMilliseconds(Math.Ceiling(Math.Min(untilNext.TotalMilliseconds, settings.MaxIdle.TotalMilliseconds)));
            if (wait >= TimeSpan.FromMilliseconds(1))
            {
                var woken = await listener.WaitAsync(wait, stopping);
                Log.DispatcherSlept(logger, wait.TotalMilliseconds, woken);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down.
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or IOException)
        {
            await DropListenerAsync();
            Log.DispatchFailed(logger, ex.Message);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stopping);
            }
            catch (OperationCanceledException)
            {
                // Shutting down.
            }
        }
    }

    private async Task<NpgsqlConnection> ListenAsync(CancellationToken cancellationToken)
    {
        if (_listener is { State: System.Data.ConnectionState.Open })
        {
            return _listener;
        }
        await DropListenerAsync();
        var connection = await database.OpenConnectionAsync(cancellationToken);
        await using (var listen = new NpgsqlCommand($"LISTEN {DispatchSignal.Channel}", connection))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken);
        }
        return _listener = connection;
    }

    private async Task DropListenerAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
            _listener = null;
        }
    }

    public void Dispose() => _listener?.Dispose();

    public override string ToString() => "Scheduler dispatcher";
}
