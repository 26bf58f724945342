using Npgsql;
using Scheduler.Core.Jobs;

namespace Scheduler.Api.Schedules;

/// <summary>
/// Wakes the dispatchers (<see cref="DispatchSignal"/>) for newly committed schedules, sparingly. A signal costs
/// PostgreSQL and every worker about as much CPU as the create it announces (docs/performance.md), so:
/// <list type="bullet">
/// <item>an occurrence beyond <see cref="DispatchSignal.Horizon"/> gets none: the dispatchers' own looks find it;</item>
/// <item>an occurrence due within <see cref="Urgent"/> is announced at once;</item>
/// <item>any other is announced at once when no signal went out in the last <see cref="Spacing"/>, and otherwise
/// waits for the rest of that time and goes with the others announced meanwhile, as one signal carrying the
/// earliest due time.</item>
/// </list>
/// Every schedule is committed before it is announced, so a dispatcher woken by the shared signal reads them all;
/// a signal that waited was at most <see cref="Spacing"/> late, for an occurrence at least <see cref="Urgent"/> away
/// (the dispatchers take occurrences a lead time ahead of their due time). A signal lost (a failed send, a stop
/// while one waits) delays an occurrence by at most the dispatchers' idle look, as before.
/// </summary>
public sealed class DispatchAnnouncer(NpgsqlDataSource database, TimeProvider time, ILogger<DispatchAnnouncer> logger)
{
    /// <summary>The least time between two signals for occurrences that are not urgent.</summary>
    public static readonly TimeSpan Spacing = TimeSpan.FromMilliseconds(50);

    /// <summary>An occurrence due within this time is announced at once, however recently a signal went out.</summary>
    public static readonly TimeSpan Urgent = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private long? _lastSent;
    private DateTimeOffset? _waiting;

    /// <summary>
    /// Announces an occurrence of a committed schedule due at <paramref name="next"/>. Completes once a signal sent
    /// now has gone out (never fails: a failure is logged); at once when the signal waits or is not needed.
    /// </summary>
    public Task AnnounceAsync(DateTimeOffset next)
    {
        var now = time.GetUtcNow();
        if (!DispatchSignal.Needed(next, now))
        {
            return Task.CompletedTask;
        }
        lock (_gate)
        {
            var since = _lastSent is { } sent ? time.GetElapsedTime(sent) : TimeSpan.MaxValue;
            if (next - now < Urgent || (since >= Spacing && _waiting is null))
            {
                _lastSent = time.GetTimestamp();
                return SendAsync(next);
            }
            if (_waiting is { } waiting)
            {
                _waiting = next < waiting ? next : waiting;
                return Task.CompletedTask;
            }
            // Here a signal went out less than the spacing ago.
            _waiting = next;
            _ = SendLaterAsync(Spacing - since);
            return Task.CompletedTask;
        }
    }

    private async Task SendLaterAsync(TimeSpan delay)
    {
        await Task.Delay(delay, time);
        DateTimeOffset next;
        lock (_gate)
        {
            next = _waiting ?? throw new InvalidOperationException("A waiting signal has no due time.");
            _waiting = null;
            _lastSent = time.GetTimestamp();
        }
        await SendAsync(next);
    }

    private async Task SendAsync(DateTimeOffset next)
    {
        try
        {
            await using var notify = database.CreateCommand(DispatchSignal.NotifyCommand);
            notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = DispatchSignal.Payload(next) });
            await notify.ExecuteNonQueryAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or ObjectDisposedException)
        {
            Log.DispatchersNotWoken(logger, ex.Message);
        }
    }
}
