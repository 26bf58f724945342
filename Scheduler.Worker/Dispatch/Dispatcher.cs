using Hangfire.Server;
using Scheduler.Core.Scheduling;

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
    SessionConnections sessions,
    IOptions<SchedulingOptions> options,
    TimeProvider time,
    ILogger<Dispatcher> logger) : IBackgroundProcess, IDisposable
{
    private NpgsqlConnection? _listener;
    private DateTimeOffset? _announced;
    private bool _announcedNow;

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
            await store.DispatchAllDueAsync(enqueuer, settings, result => Log.Dispatched(logger, result.Claimed, result.ToEnqueue.Count, result.Skipped), stopping);

            // Everything due within the lead time was taken: the next look is when the earliest occurrence
            // left is the dispatch window into it, so the occurrences of that window go together.
            var untilNext = await store.TimeUntilNextAsync(settings.LeadTime, stopping) is { } until ? until + settings.DispatchWindow : settings.MaxIdle;
            await SleepAsync(listener, untilNext < settings.MaxIdle ? untilNext : settings.MaxIdle, settings.LeadTime, stopping);
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

    /// <summary>
    /// Sleeps until the next occurrence enters the lead window, or until a change notification announces
    /// an occurrence due before then; notifications for later occurrences do not wake the dispatcher.
    /// </summary>
    private async Task SleepAsync(NpgsqlConnection listener, TimeSpan duration, TimeSpan lead, CancellationToken stopping)
    {
        var wakeAt = time.GetUtcNow() + duration;
        while (wakeAt - time.GetUtcNow() is var remaining && remaining >= TimeSpan.FromMilliseconds(1))
        {
            _announced = null;
            _announcedNow = false;
            // Whole milliseconds: Npgsql reads a timeout of 0 ms as "wait forever".
            if (!await listener.WaitAsync(TimeSpan.FromMilliseconds(Math.Ceiling(remaining.TotalMilliseconds)), stopping))
            {
                return;
            }
            if (_announcedNow || _announced - lead < wakeAt)
            {
                Log.DispatcherWoken(logger, _announced);
                return;
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (DispatchSignal.DueOf(e.Payload) is { } due)
        {
            _announced = _announced is { } earlier && earlier < due ? earlier : due;
        }
        else
        {
            _announcedNow = true;
        }
    }

    private async Task<NpgsqlConnection> ListenAsync(CancellationToken cancellationToken)
    {
        if (_listener is { State: System.Data.ConnectionState.Open })
        {
            return _listener;
        }
        await DropListenerAsync();
        // A session of its own, outside the pool: a LISTEN does not survive a pooler in transaction mode.
        var connection = await sessions.OpenAsync(cancellationToken);
        connection.Notification += OnNotification;
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
            // Unpooled: closing it ends the session and its LISTEN.
            await _listener.DisposeAsync();
            _listener = null;
        }
    }

    public void Dispose() => DropListenerAsync().GetAwaiter().GetResult();

    public override string ToString() => "Scheduler dispatcher";
}
