using System.Text;
using Scheduler.Core.Hosting;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// How many PostgreSQL connections one worker process holds under full load: a resource limit
/// (docs/operations.md#database-connections), counted in pg_stat_activity by the names the worker gives its
/// connections (scheduler-worker, -hangfire, -session), not a performance threshold.
/// </summary>
// pg_stat_activity counts the whole server's connections, so no other fixture may run meanwhile.
[NonParallelizable]
public sealed class ConnectionBudgetTests : SystemTestBase
{
    private const int Runs = 2000;

    /// <summary>The test database without the pool size the other tests give every process: the worker sizes its pools itself.</summary>
    private static string ConnectionString => new Npgsql.NpgsqlConnectionStringBuilder(TestAssemblySetup.ConnectionString) { MaxPoolSize = 100 }.ConnectionString;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["ConnectionStrings__Scheduler"] = ConnectionString };

    [Test]
    public async Task A_worker_under_full_load_stays_within_its_connection_budget()
    {
        var budget = new DatabaseConnections(
            new DatabaseOptions { ConnectionString = ConnectionString, HangfireConnectionString = ConnectionString },
            new EngineOptions(), "worker").MostOpenAtOnce;
        Target.Respond("/slow", TestTarget.Slow(TimeSpan.FromMilliseconds(300)));

        using var stop = new CancellationTokenSource();
        var sampling = SampleWorkerConnectionsAsync(stop.Token);
        try
        {
            // Slow calls keep the worker's Hangfire workers, run statements and leases busy at once. (Failing calls
            // would soon open the host's circuit breaker and end in no time.)
            for (var batch = 0; batch < Runs / 1000; batch++)
            {
                var items = string.Join(",", Enumerable.Range(0, 1000).Select(_ =>
                    $$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/slow")}}}"}}"""));
                var (status, body) = await Client.CreateSchedules(Json($$"""{"schedules": [{{items}}]}""")).ReadAsync();
                Assert.That((int)status, Is.EqualTo(201), body?.ToJsonString());
            }
            await Eventually.UntilAsync(async () => await TestDatabase.ScalarAsync<long>(
                $"SELECT count(*) FROM scheduler.runs WHERE status NOT IN ({Sql.UnfinishedRuns})") == Runs, TimeSpan.FromMinutes(3), $"{Runs} runs to finish");
        }
        finally
        {
            await stop.CancelAsync();
        }
        var (most, byName) = await sampling;
        await TestContext.Out.WriteLineAsync($"Most connections of the worker at once: {most} ({byName}); budget {budget}");
        Assert.Multiple(async () =>
        {
            Assert.That(most, Is.GreaterThan(0), "the sampling saw the worker's connections");
            Assert.That(most, Is.LessThanOrEqualTo(budget), byName);
            Assert.That(budget, Is.LessThanOrEqualTo(25), "the documented cap per worker process");
            Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.runs WHERE status = 'SUCCESS'"), Is.EqualTo(Runs));
        });
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stop)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stop);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The most connections named scheduler-worker* open at once, and how they split by name at that moment.</summary>
    private static async Task<(int Most, string ByName)> SampleWorkerConnectionsAsync(CancellationToken stop)
    {
        await using var connection = await TestDatabase.OpenAsync();
        var most = 0;
        var byName = "";
        using var every = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        do
        {
            await using var command = new Npgsql.NpgsqlCommand(
                "SELECT application_name, count(*)::int FROM pg_stat_activity WHERE application_name LIKE 'scheduler-worker%' GROUP BY 1 ORDER BY 1", connection);
            var total = 0;
            var names = new StringBuilder();
            await using (var reader = await command.ExecuteReaderAsync(CancellationToken.None))
            {
                while (await reader.ReadAsync(CancellationToken.None))
                {
                    total += reader.GetInt32(1);
                    names.Append(System.Globalization.CultureInfo.InvariantCulture, $"{reader.GetString(0)} {reader.GetInt32(1)}; ");
                }
            }
            if (total > most)
            {
                (most, byName) = (total, names.ToString());
            }
        }
        while (await WaitAsync(every, stop));
        return (most, byName);
    }
}
