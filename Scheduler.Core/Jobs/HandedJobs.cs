using System.Collections.Concurrent;
using System.Globalization;
using Hangfire.Storage;

namespace Scheduler.Core.Jobs;

/// <summary>
/// What Hangfire's workers of this process did with each job the queue handed them in the last minutes: when a
/// worker took it, and when it removed it from the queue, requeued it or let it go. A job fetched again after
/// the invisibility timeout, whose earlier fetch was this process's, is reported with this history, so the report
/// says whether the claim never reached a worker or which call a worker made that left the claim in place.
/// Costs a dictionary entry and a few timestamps per job (a job carries up to 200 runs).
/// </summary>
internal sealed class HandedJobs(TimeProvider time)
{
    private static readonly TimeSpan Kept = TimeSpan.FromMinutes(3);
    private readonly ConcurrentDictionary<string, Hand> _hands = new(StringComparer.Ordinal);
    private long _handed;

    /// <summary>The fetched job as Hangfire's worker gets it: the same job, its calls noted.</summary>
    public IFetchedJob HandOver(IFetchedJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var hand = new Hand(time);
        hand.Note("a worker took it");
        _hands[job.JobId] = hand;
        if (Interlocked.Increment(ref _handed) % 1000 == 0)
        {
            var before = time.GetUtcNow() - Kept;
            foreach (var (jobId, old) in _hands)
            {
                if (old.TakenAt < before)
                {
                    _hands.TryRemove(jobId, out _);
                }
            }
        }
        return new HandedJob(job, hand);
    }

    /// <summary>What this process's workers did with the job, e.g. "a worker took it at 17:33:18.211, removed it from the queue at …".</summary>
    public string History(string jobId) =>
        _hands.TryGetValue(jobId, out var hand) ? hand.ToString() : "no worker of this process took it";

    private sealed class Hand(TimeProvider time)
    {
        // Written out only when a report asks (rarely): a job is noted three or four times, at a timestamp each.
        private readonly List<(string What, DateTimeOffset At)> _notes = new(4);

        public DateTimeOffset TakenAt { get; } = time.GetUtcNow();

        public void Note(string what)
        {
            var at = time.GetUtcNow();
            lock (_notes)
            {
                _notes.Add((what, at));
            }
        }

        public override string ToString()
        {
            lock (_notes)
            {
                return string.Join(", ", _notes.Select(n => $"{n.What} at {n.At.UtcDateTime.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)}"));
            }
        }
    }

    private sealed class HandedJob(IFetchedJob job, Hand hand) : IFetchedJob
    {
        public string JobId => job.JobId;

        public void RemoveFromQueue()
        {
            hand.Note("removed it from the queue");
            job.RemoveFromQueue();
        }

        public void Requeue()
        {
            hand.Note("requeued it");
            job.Requeue();
        }

        public void Dispose()
        {
            hand.Note("let it go");
            job.Dispose();
        }
    }
}
