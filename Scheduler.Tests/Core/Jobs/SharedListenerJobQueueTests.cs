using System.Diagnostics.Metrics;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Scheduler.Core.Jobs;
using Scheduler.Core.Model;
using Scheduler.Core.Observability;

namespace Scheduler.Tests.Core.Jobs;

/// <summary>
/// The job queue's fetch against the test database: a job whose claim is lost before it reaches a worker
/// stays visible (it does not wait out the invisibility timeout), and a job fetched again after that timeout
/// says so in the log, in scheduler_jobs_fetched_again_total and on its runs.
/// </summary>
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
    public async Task A_fetch_that_throws_something_else_rolls_its_claim_back_and_says_so()
    {
        var jobId = await EnqueueAsync(fetchedAgo: null);
        using (var failing = Queue(claimed: _ => throw new InvalidOperationException("not a database error")))
        {
            // Not the database's: Hangfire's worker loop would log it at Debug only.
            Assert.Throws<InvalidOperationException>(() => failing.Dequeue(["runs"], CancellationToken.None));
        }

        Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM hangfire.jobqueue WHERE jobid = {jobId} AND fetchedat IS NULL"), Is.EqualTo(1));
        Assert.That(_log.Warnings, Has.Some.Contains("Fetching a Hangfire job threw InvalidOperationException: not a database error"));
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
            Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM hangfire.jobqueue WHERE jobid = {fresh} AND updatecount = {Environment.ProcessId}"),
                Is.EqualTo(1), "the claim names the process that holds it");
            first.RemoveFromQueue();
        }
        using (var again = queue.Dequeue(["runs"], CancellationToken.None))
        {
            Assert.That(again.JobId, Is.EqualTo($"{abandoned}"));
            again.RemoveFromQueue();
        }
        Assert.That(_log.Warnings, Has.Count.EqualTo(1));
        Assert.That(_log.Warnings[0], Does.Contain($"Hangfire job {abandoned} was fetched again").And.Contain($"by process {EarlierClaimant}").And.Contain("00:00:30"));

    }

    [Test]
    public async Task A_job_this_process_fetched_before_is_reported_with_what_its_worker_did_with_it()
    {
        var held = await EnqueueAsync(fetchedAgo: null);
        var neverTaken = await EnqueueAsync(fetchedAgo: Invisibility * 2);
        await TestDatabase.ExecuteAsync($"UPDATE hangfire.jobqueue SET updatecount = {Environment.ProcessId} WHERE jobid = {neverTaken}");
        using var queue = Queue();

        // A claim left in place: its worker removes the job from the queue, but the row's fetch time is no longer
        // the one it holds (set back here), so the removal deletes nothing and the claim waits out the timeout.
        var first = queue.Dequeue(["runs"], CancellationToken.None);
        Assert.That(first.JobId, Is.EqualTo($"{held}"));
        await TestDatabase.ExecuteAsync($"UPDATE hangfire.jobqueue SET fetchedat = now() - interval '60 seconds' WHERE jobid = {held}");
        first.RemoveFromQueue();
        first.Dispose();
        using (var again = queue.Dequeue(["runs"], CancellationToken.None))
        using (var other = queue.Dequeue(["runs"], CancellationToken.None))
        {
            Assert.That(new[] { again.JobId, other.JobId }, Is.EquivalentTo(new[] { $"{held}", $"{neverTaken}" }));
            again.RemoveFromQueue();
            other.RemoveFromQueue();
        }

        Assert.That(_log.Warnings, Has.Some.Contains($"Hangfire job {held} was fetched again")
            .And.Contains($"by this process ({Environment.ProcessId}: a worker took it at ").And.Contains(", removed it from the queue at ").And.Contains(", let it go at "));
        Assert.That(_log.Warnings, Has.Some.Contains($"Hangfire job {neverTaken} was fetched again")
            .And.Contains($"by this process ({Environment.ProcessId}: no worker of this process took it)"));
    }

    [Test]
    public async Task A_report_of_the_earlier_fetch_that_fails_leaves_the_job_visible()
    {
        var abandoned = await EnqueueAsync(fetchedAgo: Invisibility * 2);
        var failingLog = new CapturingLogger { FailOnWarning = true };
        using (var failing = Queue(log: failingLog))
        {
            // The warning about the earlier fetch throws: nothing after the claim may lose it.
            Assert.Throws<InvalidOperationException>(() => failing.Dequeue(["runs"], CancellationToken.None));
        }

        Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM hangfire.jobqueue WHERE jobid = {abandoned} AND fetchedat < now() - interval '30 seconds'"),
            Is.EqualTo(1), "the claim was rolled back: the job is still visible, not fetched by no one for another invisibility timeout");
        using var queue = Queue();
        using var fetched = FetchWithin(queue, TimeSpan.FromSeconds(20));
        Assert.That(fetched?.JobId, Is.EqualTo($"{abandoned}"), "the next fetch takes it at once");
        fetched!.RemoveFromQueue();
    }

    [Test]
    public async Task A_job_fetched_again_is_counted_and_remarked_on_its_pending_runs()
    {
        var abandoned = await EnqueueAsync(fetchedAgo: Invisibility * 2);
        var pending = await RunOfJobAsync(abandoned, RunStatus.Pending);
        var finished = await RunOfJobAsync(abandoned, RunStatus.Success);
        var other = await RunOfJobAsync(abandoned + 1, RunStatus.Pending);
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        await using var database = NpgsqlDataSource.Create(TestAssemblySetup.ConnectionString);
        var metrics = new SchedulerMetrics(services.GetRequiredService<IMeterFactory>(), new DueWorkProbe(database, TimeProvider.System,
            Microsoft.Extensions.Options.Options.Create(new MetricsOptions()), NullLogger<DueWorkProbe>.Instance));
        var counted = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SchedulerMetrics.MeterName && instrument.Name == "scheduler.jobs.fetched_again")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref counted, value));
        listener.Start();
        var refetched = new RefetchedJobs(database, metrics, _log);

        using (var queue = Queue(refetched: refetched))
        using (var again = queue.Dequeue(["runs"], CancellationToken.None))
        {
            Assert.That(again.JobId, Is.EqualTo($"{abandoned}"));
            again.RemoveFromQueue();
        }

        Assert.That(Interlocked.Read(ref counted), Is.EqualTo(1), "scheduler_jobs_fetched_again_total");
        Assert.That(await RemarksAsync(pending), Does.Contain($"Its Hangfire job {abandoned} was fetched at").And.Contain($"by process {EarlierClaimant}, which neither ran it")
            .And.Contain("InvisibilityTimeout (00:00:30)"),
            "the run that waited says why");
        Assert.That(await RemarksAsync(finished), Is.Empty, "a run no longer waiting is left alone");
        Assert.That(await RemarksAsync(other), Is.Empty, "another job's run is left alone");
    }

    [Test]
    public async Task Fetches_cancelled_while_jobs_are_enqueued_leave_no_job_claimed_by_no_one()
    {
        // Hangfire cancels a waiting fetch when its server stops or restarts. Eight fetchers, each cancelling its
        // wait after a few milliseconds and fetching again, race 300 enqueues (each committed with its NOTIFY):
        // every job is taken once, well before the invisibility timeout would free a claim no one holds.
        const int Jobs = 300;
        using var queue = Queue();
        var taken = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var done = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var fetchers = Enumerable.Range(0, 8).Select(f => Task.Run(() =>
        {
            var random = new Random(f);
            while (taken.Count < Jobs && !done.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(done.Token);
                wait.CancelAfter(random.Next(1, 30));
                try
                {
                    using var job = queue.Dequeue(["runs"], wait.Token);
                    taken.Add(job.JobId);
                    job.RemoveFromQueue();
                }
                catch (OperationCanceledException)
                {
                    // Cancelled while waiting: nothing was claimed; fetch again.
                }
            }
        })).ToArray();
        await using (var connection = await TestDatabase.OpenAsync())
        {
            for (var i = 0; i < Jobs; i++)
            {
                await using var transaction = await connection.BeginTransactionAsync();
                queue.Enqueue(connection, "runs", $"{2_000_000_000L + i}");
                await transaction.CommitAsync();
            }
        }
        await Task.WhenAll(fetchers);

        Assert.Multiple(() =>
        {
            Assert.That(taken, Has.Count.EqualTo(Jobs), "every job fetched before the deadline, shorter than the invisibility timeout");
            Assert.That(taken.Distinct().Count(), Is.EqualTo(Jobs), "each once");
        });
        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM hangfire.jobqueue"), Is.Zero, "no claim left behind");
        Assert.That(_log.Warnings, Is.Empty);
    }

    [Test]
    public async Task A_listener_that_fails_on_something_unexpected_says_so_and_listens_again()
    {
        var listens = 0;
        using var queue = Queue(listening: () =>
        {
            // Not the database's fault: a listener that ended here would leave every worker polling, unsaid.
            if (Interlocked.Increment(ref listens) == 1)
            {
                throw new InvalidOperationException("not a database error");
            }
        });
        await using (var connection = await TestDatabase.OpenAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            queue.Enqueue(connection, "runs", "2100000000");
            await transaction.CommitAsync();
        }
        using (var fetched = queue.Dequeue(["runs"], CancellationToken.None))
        {
            fetched.RemoveFromQueue();
        }

        await Eventually.UntilAsync(() => Volatile.Read(ref listens) >= 2, TimeSpan.FromSeconds(20), "the listener to listen again");
        Assert.That(_log.Warnings, Has.Some.Contains("The Hangfire job listener failed (InvalidOperationException: not a database error)"));
    }

    private SharedListenerJobQueue Queue(Action<string>? claimed = null, ILogger? log = null, RefetchedJobs? refetched = null, Action? listening = null)
    {
        var connectionString = TestAssemblySetup.ConnectionString;
        var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, Options), Options);
        return new SharedListenerJobQueue(storage, connectionString, connectionString, Options, log ?? _log, refetched) { Claimed = claimed, Listening = listening };
    }

    /// <summary>The next job, or null if none is visible within <paramref name="deadline"/> (a claimed job is not).</summary>
    private static Hangfire.Storage.IFetchedJob? FetchWithin(SharedListenerJobQueue queue, TimeSpan deadline)
    {
        using var timeout = new CancellationTokenSource(deadline);
        try
        {
            return queue.Dequeue(["runs"], timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>A run of a paused schedule, in <paramref name="status"/>, whose Hangfire job is <paramref name="jobId"/>.</summary>
    private static Task<long> RunOfJobAsync(long jobId, RunStatus status) =>
        TestDatabase.ScalarAsync<long>($"""
            {TestDatabase.WithPausedSchedule}
            INSERT INTO scheduler.runs (schedule_id, due_at, status, trigger, attempt_count, retry_requested, remarks, hangfire_job_id, created_at, updated_at)
            SELECT s.id, now(), {Sql.Literal(status)}, {Sql.Literal(RunTrigger.Scheduled)}, 0, false, '{"{}"}', '{jobId}', now(), now()
            FROM s RETURNING id
            """);

    private static Task<string> RemarksAsync(long runId) =>
        TestDatabase.ScalarAsync<string>($"SELECT array_to_string(remarks, ' | ') FROM scheduler.runs WHERE id = {runId}");

    /// <summary>The process id the queue rows say fetched them (a process that is not this one).</summary>
    private const int EarlierClaimant = 4242;

    /// <summary>A queue row for a job id no other test uses; fetched that long ago (by <see cref="EarlierClaimant"/>), or never.</summary>
    private static async Task<long> EnqueueAsync(TimeSpan? fetchedAgo)
    {
        var fetchedAt = fetchedAgo is { } ago ? $"now() - interval '{ago.TotalSeconds} seconds'" : "NULL";
        return await TestDatabase.ScalarAsync<long>($"""
            INSERT INTO hangfire.jobqueue (jobid, queue, fetchedat, updatecount)
            VALUES ((SELECT coalesce(max(jobid), 0) + 1000000000 FROM hangfire.jobqueue), 'runs', {fetchedAt}, {EarlierClaimant})
            RETURNING jobid
            """);
    }

    private sealed class CapturingLogger : ILogger
    {
        private readonly List<string> _warnings = [];

        /// <summary>Throws on a warning, as a logging provider that fails would.</summary>
        public bool FailOnWarning { get; init; }

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
                if (FailOnWarning)
                {
                    throw new InvalidOperationException("the log failed");
                }
                lock (_warnings)
                {
                    _warnings.Add(formatter(state, exception));
                }
            }
        }
    }
}
