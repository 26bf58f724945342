using Scheduler.Api.Endpoints;

namespace Scheduler.Tests.Api.Endpoints;

/// <summary>
/// Seed 001's <c>GET /metrics</c> statement against the migrated test database: its run figures cover runs due in
/// the last 24 hours (latency and lateness the last hour), and every read of the runs table is an index range, so a
/// scrape costs what the last day holds, not the whole history.
/// </summary>
public sealed class MetricsQueryTests
{
    [SetUp]
    public Task ResetDatabaseAsync() => TestDatabase.ResetAsync();

    [Test]
    public async Task Run_figures_count_the_last_24_hours_and_lateness_the_last_hour()
    {
        await TestDatabase.ExecuteAsync($"""
            {TestDatabase.WithPausedSchedule}
            INSERT INTO scheduler.runs (schedule_id, due_at, status, trigger, attempt_count, retry_requested, remarks, created_at, updated_at,
                                        latency_ms, lateness_ms)
            SELECT s.id, now() - v.age, v.status, 'SCHEDULED', 1, false, '{"{}"}', now(), now(), v.latency, v.lateness
            FROM s, (VALUES
              -- Outside the window: history that no longer counts.
              (interval '3 days', 'SUCCESS', 1000.0, 5000.0), (interval '25 hours', 'FAILED', 1000.0, 5000.0),
              -- The last 24 hours, before the last hour: counted, but not in latency and lateness.
              (interval '5 hours', 'SUCCESS', 500.0, 900.0), (interval '2 hours', 'FAILED', 500.0, 900.0),
              -- The last hour.
              (interval '10 minutes', 'SUCCESS', 10.0, 2.0), (interval '5 minutes', 'SUCCESS', 30.0, 4.0)
            ) AS v(age, status, latency, lateness)
            """);

        var row = await ReadAsync(MetricsApi.SystemMetricsSql);
        Assert.Multiple(() =>
        {
            Assert.That(row["total_runs"], Is.EqualTo(4L), "runs due in the last 24 hours");
            Assert.That(row["runs_last_hour"], Is.EqualTo(2L));
            Assert.That(row["success_rate"], Is.EqualTo(75.0), "3 of the window's 4 finished runs");
            Assert.That(row["avg_latency_ms"], Is.EqualTo(20.0), "runs due in the last hour");
            Assert.That(row["lateness_max_ms_last_hour"], Is.EqualTo(4.0));
        });
    }

    [Test]
    public async Task Every_read_of_the_runs_table_is_an_index_range()
    {
        // With sequential scans priced out the planner shows whether an index can bound each read; a read of the
        // whole table shows as a scan without a condition on the index.
        var plan = await TestDatabase.ScalarAsync<string>($"""
            SET enable_seqscan = off;
            EXPLAIN (FORMAT JSON) {MetricsApi.SystemMetricsSql}
            """);
        var scans = Nodes(JsonNode.Parse(plan)![0]!["Plan"]!).Where(n => n["Relation Name"]?.GetValue<string>() == "runs").ToList();
        Assert.That(scans, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (var scan in scans)
            {
                Assert.That(scan["Node Type"]!.GetValue<string>(), Does.Not.Contain("Seq Scan"), scan.ToJsonString());
                // An index scan's Index Cond, or a bitmap scan's (its heap part rechecks the same condition).
                Assert.That((scan["Index Cond"] ?? scan["Recheck Cond"])?.GetValue<string>(), Does.Contain("due_at").Or.Contain("status"),
                    $"a bounded range: {scan.ToJsonString()}");
            }
        });
    }

    private static IEnumerable<JsonNode> Nodes(JsonNode node) =>
        new[] { node }.Concat(node["Plans"]?.AsArray().SelectMany(child => Nodes(child!)) ?? []);

    private static async Task<Dictionary<string, object?>> ReadAsync(string sql)
    {
        await using var connection = await TestDatabase.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.That(await reader.ReadAsync(), Is.True);
        return Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i));
    }
}
