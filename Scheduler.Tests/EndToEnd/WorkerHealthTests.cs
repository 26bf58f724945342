using System.Net.Sockets;
using System.Text.Json;
using Npgsql;
using Scheduler.Core.Hosting;

namespace Scheduler.Tests.EndToEnd;

/// <summary>The worker's health port: what the Kubernetes probes of the worker Deployment ask.</summary>
// It stops the PostgreSQL server every fixture shares.
[NonParallelizable]
public sealed class WorkerHealthTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Worker_is_live_and_ready_on_its_health_port_and_not_ready_while_PostgreSQL_is_down()
    {
        var postgres = PostgresServer.Current!;
        await using var worker = await SchedulerProcess.StartWorkerAsync();
        using var http = new HttpClient { BaseAddress = worker.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };

        Assert.That(await ProbeAsync(http, "/health/ready"), Is.EqualTo((HttpStatusCode.OK, "ready", (string?)null)));
        Assert.That(await ProbeAsync(http, "/health/live"), Is.EqualTo((HttpStatusCode.OK, "alive", (string?)null)));

        try
        {
            await postgres.PauseAsync();
        }
        catch (NotSupportedException ex)
        {
            Assert.Ignore($"The database cannot be stopped here: {ex.Message}");
        }
        try
        {
            await Eventually.UntilAsync(async () => (await ProbeAsync(http, "/health/ready")).Status == HttpStatusCode.ServiceUnavailable, Wait,
                "the worker to be not ready while PostgreSQL is down");
            Assert.Multiple(async () =>
            {
                Assert.That(await ProbeAsync(http, "/health/ready"), Is.EqualTo((HttpStatusCode.ServiceUnavailable, "not_ready", "database unreachable")));
                Assert.That((await ProbeAsync(http, "/health/live")).Status, Is.EqualTo(HttpStatusCode.OK),
                    "a database outage is no reason to restart workers");
            });
        }
        finally
        {
            await postgres.ResumeAsync();
            NpgsqlConnection.ClearAllPools();
        }
        await Eventually.UntilAsync(async () => (await ProbeAsync(http, "/health/ready")).Status == HttpStatusCode.OK, Wait,
            "the worker to be ready again once PostgreSQL is back");
    }

    [Test]
    public async Task Probes_of_a_ready_worker_ask_its_pool_and_start_no_PostgreSQL_session_each()
    {
        await using var worker = await SchedulerProcess.StartWorkerAsync();
        using var http = new HttpClient { BaseAddress = worker.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        Assert.That(await ProbeAsync(http, "/health/ready"), Is.EqualTo((HttpStatusCode.OK, "ready", (string?)null)), "the schema check passed");

        // The schema check opens two connections of its own; a probe after it (within DatabaseReadiness.SchemaRecheck)
        // asks the worker's pool. Each session is counted when it starts (pg_stat_database.sessions).
        const string Sessions = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()";
        var before = await TestDatabase.ScalarAsync<long>(Sessions);
        for (var i = 0; i < 10; i++)
        {
            Assert.That(await ProbeAsync(http, "/health/ready"), Is.EqualTo((HttpStatusCode.OK, "ready", (string?)null)));
        }
        var started = await TestDatabase.ScalarAsync<long>(Sessions) - before;
        Assert.That(started, Is.LessThan(10), "sessions started during 10 probes (two each with the schema check)");
    }

    [Test]
    public async Task Worker_is_not_live_when_its_Hangfire_server_stops_writing_heartbeats()
    {
        // A heartbeat a minute apart, so the one faked below stays the latest while the probe looks.
        await using var worker = await SchedulerProcess.StartWorkerAsync(new Dictionary<string, string>
        {
            ["Hangfire__HeartbeatInterval"] = "00:01:00",
            ["Hangfire__ServerTimeout"] = "00:02:00",
        });
        using var http = new HttpClient { BaseAddress = worker.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        Assert.That((await ProbeAsync(http, "/health/live")).Status, Is.EqualTo(HttpStatusCode.OK));

        await TestDatabase.ExecuteAsync($"UPDATE hangfire.server SET lastheartbeat = now() - interval '5 minutes' WHERE id LIKE '%:{worker.Id}:%'");

        var (status, state, reason) = await ProbeAsync(http, "/health/live");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(state, Is.EqualTo("not_alive"));
            Assert.That(reason, Does.StartWith("no Hangfire server heartbeat for 30"));
        });
    }

    [Test]
    public async Task A_health_port_in_use_stops_the_worker_with_a_message_naming_the_port()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        await using var worker = SchedulerProcess.StartRaw("worker", [], new Dictionary<string, string> { ["Worker__HttpPort"] = $"{port}" });
        var code = await worker.WaitForExitAsync(Wait);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ProcessHost.ConfigurationError), worker.Output);
            Assert.That(worker.Output, Does.Contain($"Worker:HttpPort {port} on 127.0.0.1 is already in use by another process"));
        });
    }

    private static async Task<(HttpStatusCode Status, string? State, string? Reason)> ProbeAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.GetProperty("status").GetString(),
            body.RootElement.TryGetProperty("reason", out var reason) ? reason.GetString() : null);
    }
}
