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
/// </summary>
internal sealed class GuardedConnector(OutboundAddressPolicy policy)
{
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = addresses.Where(a => policy.Refusal(a) is null).ToArray();
        if (allowed.Length == 0)
        {
            var reason = addresses.Select(policy.Refusal).FirstOrDefault(r => r is not null) ?? "it resolves to no address";
            throw new BlockedAddressException(IPAddress.TryParse(host, out _)
                ? $"Blocked: {reason}"
                : $"Blocked: {host} resolves to {string.Join(", ", addresses.Select(a => a.ToString()))}; {reason}");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
