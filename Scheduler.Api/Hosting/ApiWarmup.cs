using System.Security.Claims;
using System.Text.Json;
using Scheduler.Api.Contracts;
using Scheduler.Api.Schedules;

namespace Scheduler.Api.Hosting;

/// <summary>
/// Walks POST /schedules' path a number of times before the API listens: a sample request read with the API's
/// JSON settings, validated, inserted in a transaction that is rolled back (<see cref="ScheduleService.RehearseCreateAsync"/>:
/// nothing is written) and its answer written. A fresh API otherwise compiles and sizes that path on its first
/// requests, which were measured 50-82 ms at p99 (max ~350-380 ms) when they were a system's first load
/// (docs/performance.md). The passes compile the path's methods and load what it uses; they end before the runtime
/// recompiles any of them at tier 1 (measured: none had been when the API listened), which the first load pays. It never stops the
/// API: without a database (or its schema) it says why and the first requests pay instead.
/// </summary>
internal sealed class ApiWarmup(IServiceScopeFactory scopes, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, TimeProvider time, ILogger<ApiWarmup> logger)
    : IHostedService
{
    /// <summary>
    /// Passes: more than the executions before Npgsql prepares a statement (DatabaseConnections: 3), and than the runtime's 30 calls
    /// before it counts a method for tier 1 (the recompilation itself comes after a 100 ms delay, after the warm-up).
    /// </summary>
    public const int Passes = 40;

    private static readonly ClaimsPrincipal WarmUp = new(new ClaimsIdentity([new Claim(ClaimTypes.Name, "warm-up")], "warm-up"));

    // A public host, as most schedules have (a loopback one is refused unless Outbound:AllowPrivateNetworks), never called.
    private static readonly byte[] Sample = """{"schedule_type":"IMMEDIATE","target":{"url":"https://example.com/scheduler-warm-up","method":"POST"}}"""u8.ToArray();

    // Hosted services start in the order they were added, and WebApplication starts the server after them all:
    // this one runs after SchemaReadinessGate (the database answers and its schema is current) and before the API listens.
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            var options = json.Value.SerializerOptions;
            for (var i = 0; i < Passes; i++)
            {
                await using var scope = scopes.CreateAsyncScope();
                var schedules = scope.ServiceProvider.GetRequiredService<ScheduleService>();
                var request = JsonSerializer.Deserialize<ScheduleRequest>(Sample, options)!;
                var (schedule, errors) = await schedules.RehearseCreateAsync(request, WarmUp, limit.Token);
                if (schedule is null)
                {
                    throw new InvalidOperationException($"the sample request was refused: {string.Join("; ", errors.ToDictionary().Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))}");
                }
                _ = JsonSerializer.SerializeToUtf8Bytes(ScheduleResponse.From(schedule), options);
            }
            Log.WarmedUp(logger, Passes, time.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Log.WarmUpFailed(logger, ex.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
