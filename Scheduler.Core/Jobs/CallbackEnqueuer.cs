using Hangfire;

namespace Scheduler.Core.Jobs;

/// <summary>Queues a delivery's Hangfire job and records the job on the delivery.</summary>
public sealed class CallbackEnqueuer(IBackgroundJobClient jobs, NpgsqlDataSource database, TimeProvider time)
{
    public async Task EnqueueAsync(long deliveryId, CancellationToken cancellationToken, DateTimeOffset? at = null)
    {
        await using var lookup = database.CreateCommand("SELECT run_id FROM scheduler.callback_deliveries WHERE id = $1");
        lookup.Parameters.Add(new NpgsqlParameter<long> { TypedValue = deliveryId });
        if (await lookup.ExecuteScalarAsync(cancellationToken) is not long runId)
        {
            return;
        }
        var jobId = at is { } when && when > time.GetUtcNow()
            ? jobs.Schedule<ICallbackJob>(job => job.DeliverAsync(deliveryId, runId, CancellationToken.None), when)
            : jobs.Enqueue<ICallbackJob>(job => job.DeliverAsync(deliveryId, runId, CancellationToken.None));
        await using var record = database.CreateCommand("UPDATE scheduler.callback_deliveries SET hangfire_job_id = $2 WHERE id = $1");
        record.Parameters.Add(new NpgsqlParameter<long> { TypedValue = deliveryId });
        record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = jobId });
        await record.ExecuteNonQueryAsync(cancellationToken);
    }
}
