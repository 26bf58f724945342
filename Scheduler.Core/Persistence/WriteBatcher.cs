using System.Collections.Concurrent;
using System.Diagnostics;

namespace Scheduler.Core.Persistence;

/// <summary>
/// Group commit for concurrent writers: items posted while a write is in flight wait and go together into
/// the next one, so under load many requests share one round trip and one commit, and alone an item is
/// written at once (no timer, no added latency). At most <paramref name="lanes"/> writes are in flight;
/// a write takes items until their weight reaches <paramref name="maxWeight"/> (always at least one).
/// The write callback owns each item's outcome (completing whatever the item carries), and must not throw.
/// With <paramref name="linger"/>, a lane that has just written waits until that long after its previous
/// write began before the next, so that back-to-back writes under load carry fuller batches (an item that
/// finds the lane idle is still written at once).
/// </summary>
public sealed class WriteBatcher<T>(Func<IReadOnlyList<T>, Task> write, int maxWeight, int lanes = 2, Func<T, int>? weight = null, TimeSpan linger = default)
{
    private readonly ConcurrentQueue<T> _queue = new();
    private int _running;

    public void Post(T item)
    {
        _queue.Enqueue(item);
        TryStartLane();
    }

    private void TryStartLane()
    {
        while (!_queue.IsEmpty)
        {
            var running = Volatile.Read(ref _running);
            if (running >= lanes)
            {
                return;
            }
            if (Interlocked.CompareExchange(ref _running, running + 1, running) == running)
            {
                _ = Task.Run(DrainAsync);
                return;
            }
        }
    }

    private async Task DrainAsync()
    {
        var batch = new List<T>();
        var previous = (long?)null;
        while (true)
        {
            if (previous is { } started && linger > TimeSpan.Zero && Stopwatch.GetElapsedTime(started) is var since && since < linger)
            {
                await Task.Delay(linger - since);
            }
            batch.Clear();
            var total = 0;
            while (total < maxWeight && _queue.TryPeek(out var next))
            {
                var w = weight?.Invoke(next) ?? 1;
                if (batch.Count > 0 && total + w > maxWeight)
                {
                    break;
                }
                if (_queue.TryDequeue(out var item))
                {
                    batch.Add(item);
                    total += weight?.Invoke(item) ?? 1;
                }
            }
            if (batch.Count == 0)
            {
                Interlocked.Decrement(ref _running);
                // An item posted after the last look, while every lane was taken, still needs a lane.
                TryStartLane();
                return;
            }
            previous = Stopwatch.GetTimestamp();
            await write(batch);
        }
    }
}
