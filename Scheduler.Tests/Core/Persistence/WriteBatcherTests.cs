using System.Collections.Concurrent;

namespace Scheduler.Tests.Core.Persistence;

public sealed class WriteBatcherTests
{
    [Test]
    public async Task Every_item_posted_from_many_threads_is_written_exactly_once_and_writes_overlap_at_most_lane_count()
    {
        var written = new ConcurrentDictionary<int, int>();
        var inFlight = 0;
        var mostInFlight = 0;
        var batches = 0;
        var batcher = new WriteBatcher<int>(async items =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref mostInFlight, now);
            Interlocked.Increment(ref batches);
            await Task.Yield();
            foreach (var item in items)
            {
                written.AddOrUpdate(item, 1, (_, n) => n + 1);
            }
            Interlocked.Decrement(ref inFlight);
        }, maxWeight: 50, lanes: 2);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                batcher.Post((t * 5_000) + i);
            }
        })));
        await Eventually.UntilAsync(() => written.Count == 40_000, TimeSpan.FromSeconds(30), "every item to be written");

        Assert.Multiple(() =>
        {
            Assert.That(written.Values, Has.All.EqualTo(1), "no item written twice");
            Assert.That(mostInFlight, Is.InRange(1, 2), "at most two writes at once");
            Assert.That(batches, Is.LessThan(40_000), "items posted together share writes");
        });
    }

    [Test]
    public async Task A_batch_never_exceeds_its_weight_unless_one_item_alone_does()
    {
        var batches = new ConcurrentBag<int[]>();
        var gate = new TaskCompletionSource();
        var batcher = new WriteBatcher<int>(async items =>
        {
            await gate.Task;
            batches.Add([.. items]);
        }, maxWeight: 10, lanes: 1, weight: item => item);

        // The first write holds the only lane until the gate opens, so the rest gather behind it.
        foreach (var item in new[] { 1, 4, 4, 4, 30, 2 })
        {
            batcher.Post(item);
        }
        gate.SetResult();
        await Eventually.UntilAsync(() => batches.Sum(b => b.Sum()) == 45, TimeSpan.FromSeconds(10), "every item to be written");

        Assert.Multiple(() =>
        {
            Assert.That(batches.Where(b => b.Length > 1), Has.All.Matches<int[]>(b => b.Sum() <= 10), "several items stay within the weight");
            Assert.That(batches.Single(b => b.Contains(30)), Is.EqualTo(new[] { 30 }), "an item heavier than the weight goes alone");
            Assert.That(batches.SelectMany(b => b).Order(), Is.EqualTo(new[] { 1, 2, 4, 4, 4, 30 }));
        });
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
