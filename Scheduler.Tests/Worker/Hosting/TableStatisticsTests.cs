using Scheduler.Worker.Hosting;

namespace Scheduler.Tests.Worker.Hosting;

/// <summary>
/// The worker's ANALYZE of grown tables, against the test database in a schema of its own (so no table of the
/// running system is touched): a table is analyzed from 64 KB on, again each time it has doubled, and never while it
/// has not; its indexed columns only.
/// </summary>
public sealed class TableStatisticsTests
{
    private const string Schema = "table_statistics_test";

    [SetUp]
    public Task CreateTablesAsync() => TestDatabase.ExecuteAsync($"""
        DROP SCHEMA IF EXISTS {Schema} CASCADE;
        CREATE SCHEMA {Schema};
        CREATE TABLE {Schema}.grows (id bigint PRIMARY KEY, state text NOT NULL DEFAULT 'a', padding text NOT NULL);
        CREATE INDEX grows_in_state_a ON {Schema}.grows (id) WHERE state = 'a';
        CREATE TABLE {Schema}.small (id bigint PRIMARY KEY, padding text NOT NULL);
        CREATE TABLE {Schema}.unindexed (id bigint, padding text NOT NULL);
        """);

    [TearDown]
    public Task DropTablesAsync() => TestDatabase.ExecuteAsync($"DROP SCHEMA IF EXISTS {Schema} CASCADE");

    [Test]
    public async Task A_table_is_analyzed_once_it_holds_64_KB_and_again_each_time_it_has_doubled()
    {
        await FillAsync("small", TableStatistics.SmallestPages - 2);
        await FillAsync("grows", TableStatistics.SmallestPages);
        await FillAsync("unindexed", TableStatistics.SmallestPages);

        var first = await AnalyzeAsync();
        var pagesCounted = await RelpagesAsync("grows");
        var unchanged = await AnalyzeAsync();
        await FillAsync("grows", (pagesCounted * 2) - 1);
        var notYetDoubled = await AnalyzeAsync();
        await FillAsync("grows", pagesCounted * 2);
        var doubled = await AnalyzeAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(first, Is.EqualTo(new[] { $"{Schema}.grows", $"{Schema}.unindexed" }), "64 KB and never analyzed");
            Assert.That(pagesCounted, Is.GreaterThanOrEqualTo(TableStatistics.SmallestPages), "ANALYZE counted the pages");
            Assert.That(unchanged, Is.Empty);
            Assert.That(notYetDoubled, Is.Empty);
            Assert.That(doubled, Is.EqualTo(new[] { $"{Schema}.grows" }));
            Assert.That(await RelpagesAsync("grows"), Is.GreaterThanOrEqualTo(pagesCounted * 2));
            Assert.That(await RelpagesAsync("small"), Is.Zero, "a table below 64 KB is left to autovacuum");
        });
    }

    [Test]
    public async Task Only_the_columns_an_index_uses_are_analyzed_and_a_table_without_an_index_whole()
    {
        await FillAsync("grows", TableStatistics.SmallestPages);
        await FillAsync("unindexed", TableStatistics.SmallestPages);

        await AnalyzeAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(await AnalyzedColumnsAsync("grows"), Is.EqualTo("id, state"), "the key's column and the partial index's predicate column, not the padding");
            Assert.That(await AnalyzedColumnsAsync("unindexed"), Is.EqualTo("id, padding"));
        });
    }

    private static Task<string> AnalyzedColumnsAsync(string table) => TestDatabase.ScalarAsync<string>(
        $"SELECT coalesce(string_agg(attname::text, ', ' ORDER BY attname), '') FROM pg_stats WHERE schemaname = '{Schema}' AND tablename = '{table}'");

    private static async Task<IReadOnlyList<string>> AnalyzeAsync()
    {
        await using var connection = await TestDatabase.OpenAsync();
        return await TableStatistics.AnalyzeGrownAsync(connection, Schema, CancellationToken.None);
    }

    private static Task<int> RelpagesAsync(string table) =>
        TestDatabase.ScalarAsync<int>($"SELECT relpages FROM pg_class WHERE oid = '{Schema}.{table}'::regclass");

    /// <summary>Adds rows of about 1 KB to the table until it has at least <paramref name="pages"/> 8 KB pages.</summary>
    private static async Task FillAsync(string table, int pages)
    {
        while (await TestDatabase.ScalarAsync<long>($"SELECT pg_relation_size('{Schema}.{table}') / 8192") < pages)
        {
            await TestDatabase.ExecuteAsync($"""
                INSERT INTO {Schema}.{table} (id, padding)
                SELECT coalesce((SELECT max(id) FROM {Schema}.{table}), 0) + g, repeat('x', 1000) FROM generate_series(1, 7) g
                """);
        }
    }
}
