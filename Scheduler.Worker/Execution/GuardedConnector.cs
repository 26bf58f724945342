using System.Net;
using System.Net.Sockets;
using Scheduler.Core.Security;

namespace Scheduler.Worker.Execution;

/// <summary>The connection was refused by the SSRF guard: the host is, or resolves only to, addresses Scheduler does not call.</summary>
public sealed class BlockedAddressException(string message) : Exception(message)
{
    public BlockedAddressException()
        : this("The address is refused by the SSRF guard.")
    {
    }

    public BlockedAddressException(string message, Exception innerException)
        : this(message + " " + innerException?.Message)
    {
    }
}

/// <summary>
/// The SSRF guard where it cannot be got round: the handler's ConnectCallback resolves the host itself,
/// checks every address against <see cref="OutboundAddressPolicy"/>, and connects only to an allowed
/// one. Every connection passes here, so a redirect to a refused host, or a name that resolves to a
/// private address (DNS rebinding included: the address checked is the address connected to), is refused.
/// With Outbound:Proxy every connection is to the proxy, which is trusted (it is configured); the target's
/// address is then judged by <see cref="ProxiedTargetGuard"/> before the request is handed over.
/// </summary>
internal sealed class GuardedConnector(OutboundAddressPolicy policy, IOptions<OutboundOptions> options)
{
    private readonly Uri? _proxy = options.Value.ProxyUri;

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var endPoint = context.DnsEndPoint;
        var addresses = IsProxy(endPoint)
            ? await ResolveAsync(endPoint.Host, cancellationToken)
            : await AllowedAddressesAsync(endPoint.Host, cancellationToken);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, endPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The addresses of <paramref name="host"/> the policy allows; <see cref="BlockedAddressException"/> when there are none.</summary>
    public async Task<IPAddress[]> AllowedAddressesAsync(string host, CancellationToken cancellationToken)
    {
        var addresses = await ResolveAsync(host, cancellationToken);
        var allowed = addresses.Where(a => policy.Refusal(a) is null).ToArray();
        if (allowed.Length == 0)
        {
            var reason = addresses.Select(policy.Refusal).FirstOrDefault(r => r is not null) ?? "it resolves to no address";
            throw new BlockedAddressException(IPAddress.TryParse(host, out _)
                ? $"Blocked: {reason}"
                : $"Blocked: {host} resolves to {string.Join(", ", addresses.Select(a => a.ToString()))}; {reason}");
        }
        return allowed;
    }

    private static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);

    private bool IsProxy(DnsEndPoint endPoint) =>
        _proxy is not null && endPoint.Port == _proxy.Port && string.Equals(endPoint.Host, _proxy.IdnHost, StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// With a proxy, the connection made is to the proxy, so the guard judges the target before the request is
/// handed over: its host is resolved and checked as <see cref="GuardedConnector"/> would, at every hop (this
/// handler sits below the redirect follower). The proxy resolves the name again for itself; restrict its
/// egress too where DNS answers cannot be trusted.
/// </summary>
internal sealed class ProxiedTargetGuard(GuardedConnector guard, IOptions<OutboundOptions> options) : DelegatingHandler
{
    private readonly bool _proxied = options.Value.ProxyUri is not null;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_proxied && request.RequestUri is { } uri)
        {
            try
            {
                await guard.AllowedAddressesAsync(uri.IdnHost, cancellationToken);
            }
            catch (BlockedAddressException ex)
            {
                throw new HttpRequestException(HttpRequestError.ConnectionError, ex.Message, ex);
            }
            catch (SocketException ex)
            {
                throw new HttpRequestException(HttpRequestError.NameResolutionError, $"{ex.Message} ({uri.IdnHost})", ex);
            }
        }
        return await base.SendAsync(request, cancellationToken);
    }
}
