using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Scheduler.Worker.Hosting;

/// <summary>
/// The warm-up's target (<see cref="WorkerRehearsal"/>): answers every HTTP/1.1 request on 127.0.0.1 with 200 and an
/// empty body, keeping connections open. A few lines of sockets rather than a Kestrel: the warm-up compiles the
/// worker's path, not a server's, and no request it serves shows up among the process's spans or metrics.
/// </summary>
internal sealed class LoopbackTarget : IAsyncDisposable
{
    private static readonly byte[] Ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"u8.ToArray();
    private static readonly byte[] EndOfHeaders = "\r\n\r\n"u8.ToArray();

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;
    private long _answered;

    public LoopbackTarget()
    {
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accepting = Task.Run(AcceptAsync);
    }

    /// <summary>Where it listens.</summary>
    public Uri Url { get; }

    /// <summary>Requests answered.</summary>
    public long Answered => Interlocked.Read(ref _answered);

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stopping.Token);
                lock (_connections)
                {
                    _connections.RemoveAll(c => c.IsCompleted);
                    _connections.Add(Task.Run(() => ServeAsync(client)));
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Reads each request's headers, and its body by Content-Length, then answers; a request it cannot read closes the connection.</summary>
    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var buffer = new byte[16 * 1024];
        var filled = 0;
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                int end;
                while ((end = buffer.AsSpan(0, filled).IndexOf(EndOfHeaders)) < 0)
                {
                    if (filled == buffer.Length)
                    {
                        return;
                    }
                    var read = await stream.ReadAsync(buffer.AsMemory(filled), _stopping.Token);
                    if (read == 0)
                    {
                        return;
                    }
                    filled += read;
                }
                var request = end + EndOfHeaders.Length + ContentLength(Encoding.ASCII.GetString(buffer, 0, end));
                if (request > buffer.Length)
                {
                    return;
                }
                while (filled < request)
                {
                    var read = await stream.ReadAsync(buffer.AsMemory(filled), _stopping.Token);
                    if (read == 0)
                    {
                        return;
                    }
                    filled += read;
                }
                await stream.WriteAsync(Ok, _stopping.Token);
                Interlocked.Increment(ref _answered);
                buffer.AsSpan(request, filled - request).CopyTo(buffer);
                filled -= request;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static int ContentLength(string headers)
    {
        foreach (var line in headers.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase) && int.TryParse(line.AsSpan("Content-Length:".Length).Trim(), out var length))
            {
                return length;
            }
        }
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Task[] open;
        lock (_connections)
        {
            open = [.. _connections, _accepting];
        }
        await Task.WhenAll(open).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }
}
