using Hangfire;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Scheduler.Api.Schedules;
using Scheduler.Api.Security;
using Scheduler.Core.Hosting;
using Scheduler.Core.Jobs;
using Scheduler.Core.Persistence;
using Scheduler.Core.Security;

namespace Scheduler.Api.Hosting;

/// <summary>
/// The create path's writer and quota composed on the warm-up's own database (<see cref="RehearsalDatabase"/>): the
/// group commit and its insert, the hand-off of IMMEDIATE runs to that database's Hangfire tables (jobs no worker
/// takes), the job ids recorded on the runs, and the key's quota counted there. So the warm-up's requests
/// (<see cref="ApiWarmup"/>) run the code a real create runs, and nothing of them reaches Scheduler's database or
/// takes from a key's quota.
/// </summary>
internal sealed class RehearsalWriter
{
    private readonly RehearsalDatabase _database;
    private readonly NpgsqlDataSource _data;

    private RehearsalWriter(RehearsalDatabase database, NpgsqlDataSource data, ScheduleWriter writer, ScheduleQuota quota)
    {
        (_database, _data, Writer, Quota) = (database, data, writer, quota);
    }

    /// <summary>The database's name.</summary>
    public string Name => _database.Name;

    /// <summary>Commits creates into the database and hands their runs to its Hangfire storage, as the API's own writer does.</summary>
    public ScheduleWriter Writer { get; }

    /// <summary>The quota the warm-up's creates are counted against: the warm-up's schedules in its own database, without a limit.</summary>
    public ScheduleQuota Quota { get; }

    /// <summary>The writer composed on <paramref name="database"/>, which it drops when disposed.</summary>
    public static RehearsalWriter On(RehearsalDatabase database, EngineOptions engine, IOptions<SchedulingOptions> scheduling, SecretProtector secrets, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(database);
        var data = NpgsqlDataSource.Create(database.Connections.Scheduler);
        var storage = CoreServiceCollectionExtensions.CreateHangfireStorage(database.Connections, database.Options, engine, data, NullLoggerFactory.Instance, metrics: null);
        var enqueuer = new RunEnqueuer(new BackgroundJobClient(storage), data, time);
        var handOff = new RunHandOff(enqueuer, scheduling, NullLogger<RunHandOff>.Instance);
        var writer = new ScheduleWriter(secrets, handOff, data, new DispatchAnnouncer(data, time, NullLogger<DispatchAnnouncer>.Instance));
        var quota = new ScheduleQuota(data, Options.Create(new LimitsOptions { MaxActiveSchedulesPerKey = int.MaxValue }), time);
        return new RehearsalWriter(database, data, writer, quota);
    }

    /// <summary>
    /// Waits (at most <paramref name="limit"/>) until every run written has its Hangfire job, so that no hand-off is
    /// still under way when the database goes. Returns the runs written.
    /// </summary>
    public async Task<long> SettleAsync(TimeSpan limit, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(time);
        var deadline = time.GetTimestamp() + (long)(limit.TotalSeconds * time.TimestampFrequency);
        while (true)
        {
            await using var command = _data.CreateCommand("SELECT count(*), count(*) FILTER (WHERE hangfire_job_id IS NULL) FROM scheduler.runs");
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var (runs, waiting) = (reader.GetInt64(0), reader.GetInt64(1));
            if (waiting == 0 || time.GetTimestamp() >= deadline)
            {
                return runs;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken);
        }
    }

    /// <summary>Closes its connections and drops the database; false, said through <paramref name="notDropped"/>, when it could not.</summary>
    public async Task<bool> TryDropAsync(Action<string> notDropped)
    {
        await _data.DisposeAsync();
        return await _database.TryDropAsync(notDropped);
    }
}
