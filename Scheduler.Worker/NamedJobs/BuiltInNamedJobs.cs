using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Scheduler.Worker.NamedJobs;

internal abstract class BuiltInJob(string name) : INamedJob
{
    private readonly NamedJobInfo _info = BuiltInJobs.All.Single(j => j.Name == name);

    public string Name => _info.Name;

    public string Description => _info.Description;

    public string? ArgsExample => _info.ArgsExample;

    public IReadOnlyList<NamedJobArg>? Args => _info.Args;

    public virtual TimeSpan Timeout => TimeSpan.FromMinutes(1);

    public abstract Task<JsonNode?> RunAsync(NamedJobContext context, CancellationToken cancellationToken);

    protected static T? Arg<T>(NamedJobContext context, string name) where T : struct =>
        context.Args is { ValueKind: JsonValueKind.Object } args && args.TryGetProperty(name, out var value) ? value.Deserialize<T?>() : null;
}

/// <summary>Returns its arguments.</summary>
internal sealed class EchoJob() : BuiltInJob(BuiltInJobs.Echo)
{
    public override Task<JsonNode?> RunAsync(NamedJobContext context, CancellationToken cancellationToken) =>
        Task.FromResult(context.Args is { } args ? JsonNode.Parse(args.GetRawText()) : null);
}

/// <summary>Waits, then succeeds.</summary>
internal sealed class SleepJob(TimeProvider time) : BuiltInJob(BuiltInJobs.Sleep)
{
    public override TimeSpan Timeout => TimeSpan.FromHours(1);

    public override async Task<JsonNode?> RunAsync(NamedJobContext context, CancellationToken cancellationToken)
    {
        var seconds = Arg<double>(context, "seconds") ?? 1;
        await Task.Delay(TimeSpan.FromSeconds(seconds), time, cancellationToken);
        return new JsonObject { ["slept_seconds"] = seconds };
    }
}

/// <summary>Always fails.</summary>
internal sealed class FailJob() : BuiltInJob(BuiltInJobs.Fail)
{
    public override Task<JsonNode?> RunAsync(NamedJobContext context, CancellationToken cancellationToken)
    {
        var message = context.Args is { ValueKind: JsonValueKind.Object } args && args.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
            ? m.GetString()!
            : "The fail job failed, as it always does.";
        throw new InvalidOperationException(message);
    }
}

/// <summary>
/// Deletes runs that ended more than <see cref="ExecutionOptions.RetentionDays"/> ago, with their attempts
/// and deliveries, in batches so no lock is held long. Maintenance, not a named job: it runs only as the
/// recurring Hangfire job (<see cref="MaintenanceJob"/>), so no API caller can point it at the history.
/// (The runs table is to be partitioned by time, when retention will drop partitions instead.)
/// </summary>
internal sealed class RetentionJob(NpgsqlDataSource database, IOptions<ExecutionOptions> options)
{
    private const int BatchSize = 5_000;

    /// <summary>Deletes the old runs; returns what it did, in words.</summary>
    public async Task<string> RunAsync(CancellationToken cancellationToken)
    {
        // Bounded by the options' validator (1 to 36500 days); checked here too, since 0 would delete every finished run.
        var days = options.Value.RetentionDays;
        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);
        long deleted = 0;
        while (true)
        {
            await using var command = database.CreateCommand($"""
                DELETE FROM scheduler.runs WHERE id IN (
                    SELECT id FROM scheduler.runs
                    WHERE status NOT IN ({Sql.UnfinishedRuns}) AND COALESCE(completed_at, due_at) < now() - make_interval(days => $1)
                    LIMIT $2)
                """);
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = days });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = BatchSize });
            var batch = await command.ExecuteNonQueryAsync(cancellationToken);
            deleted += batch;
            if (batch < BatchSize)
            {
                break;
            }
        }
        return string.Create(CultureInfo.InvariantCulture, $"Deleted {deleted} run(s) that ended more than {days} day(s) ago.");
    }
}
