using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Scheduler.Tests.Infrastructure;

/// <summary>One request as the target saw it, with the moment it arrived.</summary>
public sealed record ReceivedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body, DateTimeOffset ArrivedAt)
{
    /// <summary>The request target as sent: a path, or an absolute URI when the server was asked as a proxy.</summary>
    public string RawTarget { get; init; } = Path;

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// A real HTTP server on 127.0.0.1 (Kestrel) that records every request and answers as each test
/// scripts it per path (200 "ok" by default).
/// </summary>
public sealed class TestTarget : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedRequest> _received = new();
    private readonly ConcurrentDictionary<string, Func<HttpContext, Task>> _handlers = new();

    private TestTarget(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyList<ReceivedRequest> Received => _received.ToArray();

    /// <summary>Starts on a free port of <paramref name="address"/> (any of 127.0.0.0/8 is this machine).</summary>
    public static async Task<TestTarget> StartAsync(string address = "127.0.0.1")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{address}:0");
        var target = new TestTarget(builder.Build());
        target._app.Run(target.HandleAsync);
        await target._app.StartAsync();
        target.BaseAddress = new Uri(target._app.Urls.First());
        return target;
    }

    public string Url(string path) => new Uri(BaseAddress, path).ToString();

    /// <summary>Scripts the answer for one path.</summary>
    public void Respond(string path, Func<HttpContext, Task> handler) => _handlers[path] = handler;

    /// <summary>A handler that answers with <paramref name="status"/> after holding the request for <paramref name="delay"/>.</summary>
    public static Func<HttpContext, Task> Slow(TimeSpan delay, int status = 200) => async context =>
    {
        // The target is slow on purpose; a one-shot timer rather than a sleep, cancelled if the caller gives up.
        using var timer = new PeriodicTimer(delay);
        try
        {
            await timer.WaitForNextTickAsync(context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        context.Response.StatusCode = status;
        await context.Response.WriteAsync("slow", context.RequestAborted);
    };

    /// <summary>A handler that answers with <paramref name="status"/> and <paramref name="body"/>.</summary>
    public static Func<HttpContext, Task> Status(int status, string body = "") => async context =>
    {
        context.Response.StatusCode = status;
        await context.Response.WriteAsync(body, context.RequestAborted);
    };

    /// <summary>A handler that answers the n-th request with the n-th step (the last step repeats).</summary>
    public static Func<HttpContext, Task> Sequence(params Func<HttpContext, Task>[] steps)
    {
        var calls = -1;
        return context => steps[Math.Min(Interlocked.Increment(ref calls), steps.Length - 1)](context);
    }

    /// <summary>A handler that redirects (302) to <paramref name="location"/>.</summary>
    public static Func<HttpContext, Task> Redirect(string location) => StatusWithHeader(302, "Location", location);

    /// <summary>A handler that answers with a status and a header.</summary>
    public static Func<HttpContext, Task> StatusWithHeader(int status, string header, string value) => async context =>
    {
        context.Response.StatusCode = status;
        context.Response.Headers[header] = value;
        await context.Response.WriteAsync("", context.RequestAborted);
    };

    /// <summary>A handler that streams <paramref name="bytes"/> bytes of 'x'.</summary>
    public static Func<HttpContext, Task> Large(long bytes) => async context =>
    {
        context.Response.StatusCode = 200;
        context.Response.ContentLength = bytes;
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'x');
        for (var sent = 0L; sent < bytes; sent += chunk.Length)
        {
            await context.Response.Body.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, bytes - sent)), context.RequestAborted);
        }
    };

    /// <summary>A handler that sends 200 and its headers at once, then one byte of body every <paramref name="interval"/> for <paramref name="duration"/>.</summary>
    public static Func<HttpContext, Task> Trickle(TimeSpan interval, TimeSpan duration) => async context =>
    {
        context.Response.StatusCode = 200;
        await context.Response.StartAsync(context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
        var started = TimeProvider.System.GetTimestamp();
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (TimeProvider.System.GetElapsedTime(started) < duration && await timer.WaitForNextTickAsync(context.RequestAborted))
            {
                await context.Response.Body.WriteAsync("x"u8.ToArray(), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
            // The caller gave up: that is the point.
        }
    };

    public IReadOnlyList<ReceivedRequest> ReceivedOn(string path) => _received.Where(r => r.Path == path).ToList();

    public async Task<IReadOnlyList<ReceivedRequest>> WaitForAsync(string path, int count, TimeSpan timeout)
    {
        await Eventually.UntilAsync(() => ReceivedOn(path).Count >= count, timeout, $"{count} request(s) on {path} (got {ReceivedOn(path).Count})");
        return ReceivedOn(path);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var arrivedAt = TimeProvider.System.GetUtcNow();
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        // Kestrel takes absolute-form targets (a proxy's requests) and keeps them as sent.
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path;
        _received.Enqueue(new ReceivedRequest(context.Request.Method, context.Request.Path, headers, body, arrivedAt) { RawTarget = rawTarget });
        if (_handlers.TryGetValue(context.Request.Path, out var handler))
        {
            await handler(context);
            return;
        }
        await context.Response.WriteAsync("ok", context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
