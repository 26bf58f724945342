using Scheduler.Core.Model;

namespace Scheduler.Tests.Deployment;

/// <summary>
/// The query KEDA scales the workers on, taken from the prod overlay's ScaledObject and run against the migrated
/// test database: the view it reads exists, and it counts what it says.
/// </summary>
public sealed class KedaQueryTests
{
    [SetUp]
    public Task ResetDatabaseAsync() => TestDatabase.ResetAsync();

    [Test]
    public async Task The_ScaledObject_query_counts_the_runs_due_within_30_seconds()
    {
        var query = KedaQuery();
        Assert.That(await TestDatabase.ScalarAsync<long>(query), Is.Zero, "nothing due in an empty database");

        const int due = 7;
        await TestDatabase.ExecuteAsync($"""
            {TestDatabase.WithPausedSchedule}
            INSERT INTO scheduler.runs (schedule_id, due_at, status, trigger, attempt_count, retry_requested, remarks, created_at, updated_at)
            SELECT s.id, v.due_at, v.status, 'SCHEDULED', 0, false, '{"{}"}', now(), now()
            FROM s, (
              -- {due} runs that count: overdue (waiting in a queue), due now, due within the next 30 s
              SELECT now() - interval '1 minute' + g * interval '1 second' AS due_at, {Sql.Literal(RunStatus.Pending)} AS status FROM generate_series(1, {due - 2}) g
              UNION ALL SELECT now() + interval '10 seconds', {Sql.Literal(RunStatus.Pending)}
              UNION ALL SELECT now() + interval '20 seconds', {Sql.Literal(RunStatus.Pending)}
              -- and runs that do not: due in an hour, finished
              UNION ALL SELECT now() + interval '1 hour', {Sql.Literal(RunStatus.Pending)}
              UNION ALL SELECT now() - interval '2 minutes', 'SUCCESS'
              UNION ALL SELECT now() - interval '3 minutes', 'FAILED'
            ) v
            """);

        Assert.That(await TestDatabase.ScalarAsync<long>(query), Is.EqualTo(due));
    }

    /// <summary>The text of the postgresql trigger's query, exactly as KEDA gets it.</summary>
    internal static string KedaQuery()
    {
        var scaledObject = Manifests.Load("deploy/overlays/prod/worker-scaledobject.yaml").Single(d => (string?)d["kind"] == "ScaledObject");
        var trigger = scaledObject["spec"]!["triggers"]!.AsArray().Single(t => (string?)t!["type"] == "postgresql")!;
        return (string)trigger["metadata"]!["query"]!;
    }
}
