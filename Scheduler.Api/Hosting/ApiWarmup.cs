using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Npgsql;
using Scheduler.Api.Contracts;
using Scheduler.Api.Schedules;
using Scheduler.Core.Hosting;
using Scheduler.Core.Observability;
using Scheduler.Core.Security;

namespace Scheduler.Api.Hosting;

/// <summary>
/// Warms the API's create path up before it reports ready, in two parts. First, before the API listens, it walks
/// POST /schedules' path 40 times in process: a sample request read with the API's JSON settings, validated,
/// inserted in a transaction that is rolled back (<see cref="ScheduleService.RehearseCreateAsync"/>: nothing is
/// written) and its answer written; that prepares the insert on the database and loads what the path uses; and it
/// opens Hangfire's pool, which hands the runs off. Then,
/// once the API listens and while <c>/health/ready</c> still answers 503, it sends itself that request and a ONCE one through
/// HTTP (<see cref="ApiRehearsal"/>) until the runtime has recompiled the path at tier 1, at most
/// <see cref="WarmUpOptions.ApiSeconds"/>. Those creates are committed to a database of the warm-up's own, and their runs
/// handed to its Hangfire (<see cref="RehearsalWriter"/>, dropped after), or, without one, only made ready. A fresh
/// API otherwise pays that recompilation during its first load: measured, a cold W1 ran at 808-821 runs/s without the
/// HTTP part and 915-1,045 with it, and the API took 6-10 s longer to be ready; writing to its own database halved the
/// API's CPU a run in a cold first burst (0.22-0.24 ms against 0.38-0.45; docs/performance.md). It never stops the API:
/// without a database (or its schema), or when a request fails, it says why and the first requests pay instead.
/// </summary>
internal sealed class ApiWarmup(
    IServiceScopeFactory scopes, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, IOptions<WarmUpOptions> options, ApiRehearsal rehearsal,
    IOptions<DatabaseOptions> database, IOptions<EngineOptions> engine, IOptions<SchedulingOptions> scheduling, SecretProtector secrets,
    Hangfire.JobStorage storage, IServer server, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<ApiWarmup> logger)
    : IHostedService, IDisposable
{
    /// <summary>Requests in flight at once during the HTTP warm-up: few, so that the JIT's background thread gets the CPU (measured: 2 went quiet in 6.8 s, 8 not within 9 s).</summary>
    public const int Connections = 2;

    /// <summary>
    /// The warm-up's first requests each on a connection of its own (<c>Connection: close</c>), more than the runtime's
    /// 30 calls: a burst's clients each open one, so Kestrel's accept and a connection's start are recompiled before
    /// ready rather than during the first load (a probe's connections alone bring them near 30).
    /// </summary>
    public const int NewConnections = 40;

    /// <summary>
    /// Requests the HTTP warm-up makes before the runtime's quiet may end it (within its time): a warm-up that went quiet
    /// sooner had compiled half the path (7,344-7,804 methods against 16,000-16,800 after 9,200-18,400 requests;
    /// <see cref="CompilationQuiet"/>).
    /// </summary>
    public const int LeastRequests = 5000;

    private readonly CancellationTokenSource _stopping = new();
    private Task _http = Task.CompletedTask;

    /// <summary>
    /// Passes: more than the executions before Npgsql prepares a statement (DatabaseConnections: 3), and than the runtime's 30 calls
    /// before it counts a method for tier 1 (the recompilation itself comes after a 100 ms delay, after the warm-up).
    /// </summary>
    public const int Passes = 40;

    private static readonly ClaimsPrincipal WarmUp = new(new ClaimsIdentity([new Claim(ClaimTypes.Name, "warm-up")], "warm-up"));

    // A public host, as most schedules have (a loopback one is refused unless Outbound:AllowPrivateNetworks), never called.
    private static readonly byte[] Sample = """{"schedule_type":"IMMEDIATE","target":{"url":"https://example.com/scheduler-warm-up","method":"POST"}}"""u8.ToArray();

    // Through HTTP also the commonest other kind, a ONCE schedule (a day ahead, as "+1d" reads), whose validation differs.
    private static readonly byte[] OnceSample = """{"schedule_type":"ONCE","run_at":"+1d","target":{"url":"https://example.com/scheduler-warm-up","method":"POST"}}"""u8.ToArray();

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
                var (schedule, errors) = await schedules.RehearseCreateAsync(request, WarmUp, execute: true, elsewhere: null, limit.Token);
                if (schedule is null)
                {
                    throw new InvalidOperationException($"the sample request was refused: {string.Join("; ", errors.ToDictionary().Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))}");
                }
                _ = JsonSerializer.SerializeToUtf8Bytes(ScheduleResponse.From(schedule), options);
            }
            // Hangfire's pool, which the first hand-off of a run would otherwise open during the first load: Npgsql reads
            // the database's types on a pool's first connection (a catalog query, and the code that reads them compiled).
            using (var hangfire = storage.GetConnection())
            {
                _ = hangfire.GetJobData("0");
            }
            Log.WarmedUp(logger, Passes, time.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Log.WarmUpFailed(logger, ex.Message);
        }
        // Then, once the API listens and before it reports ready, the same path through HTTP.
        if (options.Value.ApiSeconds == 0)
        {
            rehearsal.End();
            return;
        }
        lifetime.ApplicationStarted.Register(() => _http = Task.Run(WarmUpThroughHttpAsync));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _http.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>
    /// The create path through Kestrel, routing, authentication, rate limiting and JSON, as clients use it: requests
    /// from <see cref="Connections"/> connections until the runtime has recompiled what they use (fewer than 5 methods a
    /// look for a second), or <see cref="WarmUpOptions.ApiSeconds"/>. The runtime recompiles a method that was called
    /// 30 times (counted from its first call under <c>DOTNET_TC_CallCountingDelayMs=0</c>, as <c>./run</c> and the images
    /// start it; by default only after 100 ms without new methods, ADR 7) on one background thread: a fresh API's first clients otherwise
    /// wait behind that compilation for their first seconds (docs/performance.md, "What a cold burst pays").
    /// </summary>
    private async Task WarmUpThroughHttpAsync()
    {
        var started = time.GetTimestamp();
        var methodsBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var requests = 0;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        limit.CancelAfter(TimeSpan.FromSeconds(options.Value.ApiSeconds));
        RehearsalWriter? own = null;
        // Its requests' spans, the client's and (through the trace state it sends) the server's, are never exported.
        using var traces = WarmUpTraces.Begin();
        try
        {
            var address = LoopbackAddress() ?? throw new InvalidOperationException("the API listens on no http address this machine can reach");
            own = options.Value.Database ? await CreateDatabaseAsync(limit.Token) : null;
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = Connections, UseProxy = false };
            using var http = new HttpClient(handler) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
            http.DefaultRequestHeaders.Add(ApiRehearsal.HeaderName, rehearsal.Begin(own));
            using var quiet = CancellationTokenSource.CreateLinkedTokenSource(limit.Token);
            var senders = Enumerable.Range(0, Connections).Select(_ => Task.Run(async () =>
            {
                for (var n = 0; !quiet.IsCancellationRequested; n++)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/schedules", UriKind.Relative))
                    {
                        Content = new ByteArrayContent(n % 2 == 0 ? Sample : OnceSample),
                    };
                    request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                    request.Headers.ConnectionClose = n < NewConnections / Connections;
                    using var response = await http.SendAsync(request, quiet.Token);
                    if (response.StatusCode != System.Net.HttpStatusCode.Created)
                    {
                        throw new InvalidOperationException($"POST /schedules answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(quiet.Token)}");
                    }
                    Interlocked.Increment(ref requests);
                }
            })).ToArray();
            // The requests' path is compiled once the runtime is quiet while they go on, after the least requests.
            var compilation = new CompilationQuiet(LeastRequests);
            do
            {
                await Task.WhenAny(Task.WhenAll(senders), Task.Delay(CompilationQuiet.Look, time, limit.Token));
            }
            while (!compilation.LookIsQuiet(Volatile.Read(ref requests)) && !limit.IsCancellationRequested && !senders.Any(s => s.IsCompleted));
            await quiet.CancelAsync();
            await Task.WhenAll(senders).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            // A sender that failed says why: an answer other than 201, or a request that timed out (HttpClient's timeout
            // is a cancellation around a TimeoutException); the others were stopped, as planned.
            if (senders.Select(s => s.Exception?.InnerException)
                    .FirstOrDefault(e => e is not null and (not OperationCanceledException or { InnerException: TimeoutException })) is { } failed)
            {
                throw failed;
            }
            var written = "none sent to the database";
            if (own is not null)
            {
                // Every run written has its job before the database goes, so that no hand-off is left under way.
                var runs = await own.SettleAsync(TimeSpan.FromSeconds(5), time, _stopping.Token);
                written = $"written to its own database {own.Name}, {runs} runs handed to its Hangfire; {(await DropAsync(own) ? "dropped" : "not dropped")}";
                own = null;
            }
            Log.WarmedUpThroughHttp(logger, requests, written, time.GetElapsedTime(started).TotalMilliseconds, System.Runtime.JitInfo.GetCompiledMethodCount() - methodsBefore);
        }
        catch (Exception ex) when (!_stopping.IsCancellationRequested)
        {
            Log.HttpWarmUpFailed(logger, ex.Message);
        }
        finally
        {
            // A warm-up that stopped early drops its database all the same.
            if (own is not null)
            {
                await DropAsync(own);
            }
            rehearsal.End();
        }
    }

    /// <summary>The warm-up's own database and the writer on it (<see cref="RehearsalWriter"/>), or null, said why, when it cannot have one.</summary>
    private async Task<RehearsalWriter?> CreateDatabaseAsync(CancellationToken cancellationToken) =>
        await RehearsalDatabase.TryCreateAsync(database.Value, engine.Value, "api-rehearsal", time, message => Log.RehearsalDatabaseUnavailable(logger, message), cancellationToken)
            is { } own
            ? RehearsalWriter.On(own, engine.Value, scheduling, secrets, time)
            : null;

    /// <summary>Drops the warm-up's database; false, said why, when it could not (the API's next start drops it).</summary>
    private Task<bool> DropAsync(RehearsalWriter own) => own.TryDropAsync(message => Log.RehearsalDatabaseNotDropped(logger, own.Name, message));

    public void Dispose() => _stopping.Dispose();

    /// <summary>The API's own http address, as this machine reaches it (a wildcard host becomes 127.0.0.1).</summary>
    private Uri? LoopbackAddress()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses)
        {
            if (!address.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            var bound = BindingAddress.Parse(address);
            var host = bound.Host is "localhost" or "+" or "*" or "0.0.0.0" or "[::]" or "::" ? "127.0.0.1" : bound.Host;
            // Only loopback: the warm-up's requests are believed only from this machine (ApiRehearsal).
            if (System.Net.IPAddress.TryParse(host.Trim('[', ']'), out var ip) && System.Net.IPAddress.IsLoopback(ip))
            {
                return new Uri($"http://{host}:{bound.Port}/");
            }
        }
        return null;
    }
}
