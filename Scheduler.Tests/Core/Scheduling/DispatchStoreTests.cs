using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Scheduler.Core.Hosting;
using Scheduler.Core.Jobs;
using Scheduler.Core.Model;
using Scheduler.Core.Observability;
using Scheduler.Core.Scheduling;
using Scheduler.Tests.Worker.Runs.Store;

namespace Scheduler.Tests.Core.Scheduling;

/// <summary>
/// <see cref="DispatchStore.DispatchAllDueAsync"/> against the test database, with Hangfire's client replaced by one that
/// records (or refuses) the jobs: a batch is handed off while the next is dispatched, the hand-offs keep their order,
/// and a failed hand-off neither stops the batch committed meanwhile from being handed off nor goes unreported.
/// </summary>
public sealed class DispatchStoreTests : StatementTestBase
{
    private static readonly SchedulingOptions Settings = new() { BatchSize = 2 };

    private ServiceProvider _services = null!;

    [SetUp]
    public void StartMetrics() => _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    [TearDown]
    public void StopMetrics() => _services.Dispose();

    [Test]
    public async Task Every_due_schedule_is_dispatched_and_handed_off_batch_after_batch_in_due_order()
    {
        var schedules = await DueSchedulesAsync(5);
        var jobs = new RecordingJobs();

        await StoreOf(Database).DispatchAllDueAsync(new RunEnqueuer(jobs, Database, TimeProvider.System), Settings, null, CancellationToken.None);

        var runs = await RunsAsync();
        Assert.Multiple(() =>
        {
            Assert.That(runs.Select(r => r.ScheduleId), Is.EqualTo(schedules), "one run per due schedule");
            Assert.That(runs.Select(r => r.JobId), Has.All.Not.Null, "every run's job id recorded");
            Assert.That(jobs.RunsInCreationOrder, Is.EqualTo(runs.Select(r => r.Id)), "jobs created batch after batch, in due order");
        });
    }

    [Test]
    public async Task A_failed_hand_off_still_hands_off_the_batch_dispatched_meanwhile_and_is_then_thrown()
    {
        var schedules = await DueSchedulesAsync(5);
        var jobs = new RecordingJobs { FailFirst = true };

        var thrown = Assert.ThrowsAsync<InvalidOperationException>(() =>
            StoreOf(Database).DispatchAllDueAsync(new RunEnqueuer(jobs, Database, TimeProvider.System), Settings, null, CancellationToken.None));

        var runs = await RunsAsync();
        Assert.Multiple(() =>
        {
            Assert.That(thrown!.Message, Does.Contain("refused"));
            Assert.That(runs.Select(r => r.ScheduleId), Is.EqualTo(schedules[..4]), "the first batch and the one dispatched during its hand-off; no third");
            Assert.That(runs.Select(r => r.JobId is null), Is.EqualTo(new[] { true, true, false, false }),
                "the refused batch has no job (reconciliation queues it); the next was handed off");
        });
        Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM scheduler.schedules WHERE id = {schedules[4]} AND next_run_at <= now()"), Is.EqualTo(1),
            "the fifth schedule is still due, for the next pass");
    }

    private DispatchStore StoreOf(NpgsqlDataSource database)
    {
        var probe = new DueWorkProbe(database, TimeProvider.System, Microsoft.Extensions.Options.Options.Create(new MetricsOptions()), NullLogger<DueWorkProbe>.Instance);
        return new DispatchStore(database, new SchedulerMetrics(_services.GetRequiredService<IMeterFactory>(), probe), TimeProvider.System);
    }

    /// <summary>ACTIVE INTERVAL-60 s schedules due half a second apart, the first 3 s ago (within the misfire threshold); their ids in due order.</summary>
    private static async Task<long[]> DueSchedulesAsync(int count)
    {
        var ids = new long[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = await ScheduleAsync(ScheduleStatus.Paused);
            await TestDatabase.ExecuteAsync($"""
                UPDATE scheduler.schedules SET status = 'ACTIVE', interval_seconds = 60,
                       start_at = now() - interval '3 s' + {i} * interval '500 ms', next_run_at = now() - interval '3 s' + {i} * interval '500 ms'
                WHERE id = {ids[i]}
                """);
        }
        return ids;
    }

    private static async Task<List<(long Id, long ScheduleId, string? JobId)>> RunsAsync()
    {
        await using var connection = await TestDatabase.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id, schedule_id, hangfire_job_id FROM scheduler.runs ORDER BY due_at", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var runs = new List<(long, long, string?)>();
        while (await reader.ReadAsync())
        {
            runs.Add((reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }
        return runs;
    }

    /// <summary>Hangfire's client without Hangfire: each job's runs in the order the jobs were created; the first refused when asked.</summary>
    private sealed class RecordingJobs : IBackgroundJobClient
    {
        private readonly ConcurrentQueue<long> _runs = new();
        private int _created;

        public bool FailFirst { get; init; }

        public IEnumerable<long> RunsInCreationOrder => _runs;

        public string Create(Job job, IState state)
        {
            ArgumentNullException.ThrowIfNull(job);
            if (Interlocked.Increment(ref _created) == 1 && FailFirst)
            {
                throw new InvalidOperationException("Hangfire refused the job (a test's failure).");
            }
            // IRunJob's first argument is its run; IRunBatchJob's, its runs.
            foreach (var run in job.Args[0] switch { long[] many => many, long one => [one], _ => [] })
            {
                _runs.Enqueue(run);
            }
            return $"{1000 + _created}";
        }

        public bool ChangeState(string jobId, IState state, string expectedState) => true;
    }
}
