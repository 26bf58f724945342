using Hangfire;
using NpgsqlTypes;
using Scheduler.Core.Reconciliation;

namespace Scheduler.Worker.NamedJobs;

/// <summary>
/// At startup: records this worker's named jobs (so the API accepts them in schedules and lists them at
/// <c>GET /jobs</c>), and keeps the retention job on Hangfire's recurring schedule.
/// </summary>
internal sealed class NamedJobRegistration(
    NamedJobRunner runner,
    NpgsqlDataSource database,
    IRecurringJobManager recurring,
    IOptions<ExecutionOptions> options,
    IOptions<ReconciliationOptions> reconciliation,
    ILogger<NamedJobRegistration> logger) : IHostedService
{
    public const string RetentionJobId = "scheduler-retention";
    public const string ReconciliationJobId = "scheduler-reconciliation";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var jobs = runner.Jobs.OrderBy(j => j.Name, StringComparer.Ordinal).ToList();
        await using var command = database.CreateCommand("""
            INSERT INTO scheduler.job_types (name, description, args_example, args_spec, updated_at)
            SELECT v.name, v.description, v.args_example::jsonb, v.args_spec::jsonb, now()
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(name, description, args_example, args_spec)
            ON CONFLICT (name) DO UPDATE SET description = excluded.description, args_example = excluded.args_example,
                args_spec = excluded.args_spec, updated_at = now()
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = jobs.Select(j => j.Name).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = jobs.Select(j => j.Description).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = jobs.Select(j => j.ArgsExample).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = jobs.Select(j => NamedJobArg.Serialize(j.Args)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);

        Keep(RetentionJobId, options.Value.RetentionCron, job => job.RetentionAsync(CancellationToken.None));
        Keep(ReconciliationJobId, reconciliation.Value.Cron, job => job.ReconcileAsync(CancellationToken.None));
        Log.NamedJobsRegistered(logger, jobs.Count, string.Join(", ", jobs.Select(j => j.Name)));
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Keep(string id, string cron, System.Linq.Expressions.Expression<Func<IMaintenanceJob, Task>> job)
    {
        if (string.IsNullOrWhiteSpace(cron))
        {
            recurring.RemoveIfExists(id);
        }
        else
        {
            recurring.AddOrUpdate(id, job, cron);
        }
    }
}

/// <summary>The recurring maintenance jobs' implementation.</summary>
internal sealed class MaintenanceJob(RetentionJob retention, Reconciler reconciler, ILogger<MaintenanceJob> logger) : IMaintenanceJob
{
    public async Task<string> ReconcileAsync(CancellationToken cancellationToken)
    {
        var report = await reconciler.RunAsync("recurring", cancellationToken);
        return report.Skipped
            ? "Skipped: another reconciliation was running."
            : $"Repaired {report.Repaired}" + (report.Repaired == 0 ? "." : ": " + string.Join("; ", report.Repairs.Select(r => r.Remark)));
    }

    public async Task RetentionAsync(CancellationToken cancellationToken)
    {
        Log.RetentionRan(logger, await retention.RunAsync(cancellationToken));
    }
}
