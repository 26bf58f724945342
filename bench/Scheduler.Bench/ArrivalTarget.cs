using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Scheduler.Bench;

/// <summary>A loopback HTTP target that records, per path, when each call arrived and its Idempotency-Key.</summary>
internal sealed class ArrivalTarget : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ArrivalTarget(WebApplication app) => _app = app;

    public ConcurrentQueue<(string Path, string? Key, DateTimeOffset At)> Arrivals { get; } = new();

    public string BaseUrl { get; private set; } = "";

    public static async Task<ArrivalTarget> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var target = new ArrivalTarget(builder.Build());
        target._app.Run(context =>
        {
            target.Arrivals.Enqueue((context.Request.Path.Value ?? "", context.Request.Headers["Idempotency-Key"].ToString(), TimeProvider.System.GetUtcNow()));
            context.Response.StatusCode = 200;
            return Task.CompletedTask;
        });
        await target._app.StartAsync();
        target.BaseUrl = target._app.Urls.First();
        return target;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
