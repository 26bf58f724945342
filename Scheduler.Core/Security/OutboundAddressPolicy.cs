using System.Net;
using System.Net.Sockets;

namespace Scheduler.Core.Security;

/// <summary>
/// The SSRF guard's rule: which addresses a worker may connect to. Public unicast addresses are allowed;
/// loopback, private (RFC 1918), carrier-grade NAT, link-local (cloud metadata at 169.254.169.254
/// included), unique-local and site-local IPv6, multicast, unspecified, broadcast, documentation and
/// reserved ranges are refused unless configuration allows them. IPv4-mapped and NAT64 IPv6 addresses
/// are judged by the IPv4 address inside. The worker applies it to the address it actually connects
/// to (so DNS rebinding and redirects cannot get round it); the API applies it to literal addresses at
/// submission for fast feedback.
/// </summary>
public sealed class OutboundAddressPolicy
{
    private static readonly (IPNetwork Network, string Kind)[] Refused =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "an unspecified (\"this network\") address"),
        (IPNetwork.Parse("10.0.0.0/8"), "a private (RFC 1918) address"),
        (IPNetwork.Parse("100.64.0.0/10"), "a carrier-grade NAT (RFC 6598) address"),
        (IPNetwork.Parse("127.0.0.0/8"), "a loopback address"),
        (IPNetwork.Parse("169.254.0.0/16"), "a link-local address (cloud metadata services live here)"),
        (IPNetwork.Parse("172.16.0.0/12"), "a private (RFC 1918) address"),
        (IPNetwork.Parse("192.0.0.0/24"), "an IETF protocol address"),
        (IPNetwork.Parse("192.0.2.0/24"), "a documentation address"),
        (IPNetwork.Parse("192.168.0.0/16"), "a private (RFC 1918) address"),
        (IPNetwork.Parse("198.18.0.0/15"), "a benchmarking address"),
        (IPNetwork.Parse("198.51.100.0/24"), "a documentation address"),
        (IPNetwork.Parse("203.0.113.0/24"), "a documentation address"),
        (IPNetwork.Parse("224.0.0.0/4"), "a multicast address"),
        (IPNetwork.Parse("240.0.0.0/4"), "a reserved address (broadcast included)"),
        (IPNetwork.Parse("::/128"), "the unspecified address"),
        (IPNetwork.Parse("::1/128"), "a loopback address"),
        (IPNetwork.Parse("::/96"), "an IPv4-compatible (deprecated) address"),
        (IPNetwork.Parse("100::/64"), "a discard address"),
        (IPNetwork.Parse("2001:db8::/32"), "a documentation address"),
        (IPNetwork.Parse("fc00::/7"), "a unique-local address"),
        (IPNetwork.Parse("fe80::/10"), "a link-local address"),
        (IPNetwork.Parse("fec0::/10"), "a site-local address"),
        (IPNetwork.Parse("ff00::/8"), "a multicast address"),
    ];

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");

    private readonly bool _allowPrivate;
    private readonly IPNetwork[] _allowed;

    public OutboundAddressPolicy(IOptions<OutboundOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _allowPrivate = options.Value.AllowPrivateNetworks;
        _allowed = [.. options.Value.AllowedNetworks.Select(n => IPNetwork.Parse(n))];
    }

    /// <summary>Null when the worker may connect to <paramref name="address"/>; otherwise why not, and how to allow it.</summary>
    public string? Refusal(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (_allowPrivate || _allowed.Any(n => n.Contains(address)))
        {
            return null;
        }
        var judged = Embedded(address);
        if (!ReferenceEquals(judged, address) && _allowed.Any(n => n.Contains(judged)))
        {
            return null;
        }
        var kind = Kind(judged) ?? (judged.Equals(address) ? null : Kind(address));
        return kind is null
            ? null
            : $"{address} is {kind}, which Scheduler does not call by default (SSRF protection). "
              + $"To allow it, set Outbound:AllowPrivateNetworks=true or add its network to Outbound:AllowedNetworks (for example {address}/{(address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128)}).";
    }

    /// <summary>For a host name known to be local without resolving it (<c>localhost</c>, <c>*.localhost</c>), why it is refused.</summary>
    public string? Refusal(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var name = host.TrimEnd('.');
        if (name.Equals("localhost", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return Refusal(IPAddress.Loopback)?.Replace("127.0.0.1 is", $"{host} is", StringComparison.Ordinal);
        }
        return IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? Refusal(literal) : null;
    }

    private static string? Kind(IPAddress address)
    {
        foreach (var (network, kind) in Refused)
        {
            if (network.BaseAddress.AddressFamily == address.AddressFamily && network.Contains(address))
            {
                return kind;
            }
        }
        return null;
    }

    /// <summary>The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) address; else the address.</summary>
    private static IPAddress Embedded(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && Nat64.Contains(address))
        {
            var bytes = address.GetAddressBytes();
            return new IPAddress(bytes.AsSpan(12, 4));
        }
        return address;
    }
}
