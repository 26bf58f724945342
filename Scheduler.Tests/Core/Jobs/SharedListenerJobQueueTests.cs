using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Microsoft.Extensions.Logging;
using Npgsql;
using Scheduler.Core.Jobs;
using Scheduler.Tests.Infrastructure;

namespace Scheduler.Tests.Core.Jobs;

/// <summary>
/// The job queue's fetch against the test database: a job whose claim is lost before it reaches a worker
/// stays visible (it does not wait out the invisibility timeout), and a job fetched again after that timeout
/// says so in the log.
/// </summary>
[NonParallelizable]
public sealed class SharedListenerJobQueueTests
{
    private static readonly TimeSpan Invisibility = TimeSpan.FromSeconds(30);

    private static readonly PostgreSqlStorageOptions Options = new()
    {
        SchemaName = "hangfire",
        PrepareSchemaIfNecessary = false,
        EnableLongPolling = false,
        UseSlidingInvisibilityTimeout = true,
        InvisibilityTimeout = Invisibility,
        QueuePollInterval = TimeSpan.FromSeconds(5),
    };

    private CapturingLogger _log = new();

    [SetUp]
    public Task EmptyTheQueueAsync()
    {
        _log = new CapturingLogger();
        return TestDatabase.ExecuteAsync("DELETE FROM hangfire.jobqueue");
    }

    [Test]
    public async Task A_claim_lost_before_it_reaches_a_worker_leaves_the_job_visible()
    {
        var jobId = await EnqueueAsync(fetchedAgo: null);
        using var stop = new CancellationTokenSource();
        using (var failing = Queue(claimed: _ =>
        {
            // The claim is made and read, then the connection fails before the job is handed over.
            stop.Cancel();
            throw new NpgsqlException("connection lost after the claim");
        }))
        {
            Assert.Throws<OperationCanceledException>(() => failing.Dequeue(["runs"], stop.Token));
        }

        Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM hangfire.jobqueue WHERE jobid = {jobId} AND fetchedat IS NULL"), Is.EqualTo(1),
            "the failed claim was rolled back: the job is visible, not fetched by no one");
        Assert.That(_log.Warnings, Has.Some.Contains("Fetching a Hangfire job failed"));
        using var queue = Queue();
        using var fetched = queue.Dequeue(["runs"], CancellationToken.None);
        Assert.That(fetched.JobId, Is.EqualTo(jobId.ToString(System.Globalization.CultureInfo.InvariantCulture)), "the next fetch takes it at once");
        fetched.RemoveFromQueue();
    }

    [Test]
    public async Task A_job_fetched_again_after_the_invisibility_timeout_is_logged_and_a_first_fetch_is_not()
    {
        var fresh = await EnqueueAsync(fetchedAgo: null);
        var abandoned = await EnqueueAsync(fetchedAgo: Invisibility * 2);
        using var queue = Queue();

        // Never-fetched jobs come first.
        using (var first = queue.Dequeue(["runs"], CancellationToken.None))
        {
            Assert.That(first.JobId, Is.EqualTo($"{fresh}"));
            Assert.That(_log.Warnings, Is.Empty, "a first fetch is not remarkable");
            first.RemoveFromQueue();
        }
        using (var again = queue.Dequeue(["runs"], CancellationToken.None))
        {
            Assert.That(again.JobId, Is.EqualTo($"{abandoned}"));
            again.RemoveFromQueue();
        }
        Assert.That(_log.Warnings, Has.Count.EqualTo(1));
        Assert.That(_log.Warnings[0], Does.Contain($"Hangfire job {abandoned} was fetched again").And.Contain("00:00:30"));
    }

    private SharedListenerJobQueue Queue(Action<string>? claimed = null)
    {
        var connectionString = TestAssemblySetup.ConnectionString;
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, Options), Options);
        return new SharedListenerJobQueue(storage, connectionString, Options, _log) { Claimed = claimed };
    }

    /// <summary>A queue row for a job id no other test uses; fetched that long ago, or never.</summary>
    private static async Task<long> EnqueueAsync(TimeSpan? fetchedAgo)
    {
        var fetchedAt = fetchedAgo is { } ago ? $"now() - interval '{ago.TotalSeconds} seconds'" : "NULL";
        return await TestDatabase.ScalarAsync<long>($"""
            INSERT INTO hangfire.jobqueue (jobid, queue, fetchedat)
            VALUES ((SELECT coalesce(max(jobid), 0) + 1000000000 FROM hangfire.jobqueue), 'runs', {fetchedAt})
            RETURNING jobid
            """);
    }

    private sealed class CapturingLogger : ILogger
    {
        private readonly List<string> _warnings = [];

        public IReadOnlyList<string> Warnings
        {
            get
            {
                lock (_warnings)
                {
                    return [.. _warnings];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Warning)
            {
                lock (_warnings)
                {
                    _warnings.Add(formatter(state, exception));
                }
            }
        }
    }
}
