using System.Net;

namespace Scheduler.Core.Security;

/// <summary>Where workers may connect (section <c>Outbound</c>): public addresses only, unless allowed here.</summary>
public sealed class OutboundOptions
{
    public const string Section = "Outbound";

    /// <summary>Allow loopback, private, link-local and every other non-public address (a trusted network, local development).</summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>CIDRs allowed although not public, e.g. <c>10.20.0.0/16</c> for an internal service.</summary>
    public List<string> AllowedNetworks { get; set; } = [];

    /// <summary>
    /// The proxy every call and callback goes through (<c>http://proxy.internal:3128</c>), or none. Only this
    /// setting names a proxy: HTTP_PROXY, HTTPS_PROXY and ALL_PROXY are ignored, so the environment cannot
    /// route calls round the SSRF guard. The guard still judges each target's address before the request is
    /// handed to the proxy; the proxy's own address is trusted, being configured here.
    /// </summary>
    public string? Proxy { get; set; }

    /// <summary>What a redirect to another origin (scheme, host or port) does with a call's secrets.</summary>
    public CrossOriginRedirects CrossOriginRedirects { get; set; } = CrossOriginRedirects.FollowWithoutSecrets;

    /// <summary>
    /// Default limits for the targets on a host (<c>Outbound:HostLimits:api.partner.com:RateLimitPerSecond</c>),
    /// shared by all of that host's targets that do not set their own: one budget for the host across all
    /// workers. The host is matched exactly, without port, ignoring case.
    /// </summary>
    public Dictionary<string, HostLimitOptions> HostLimits { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The proxy as a URI, when one is configured.</summary>
    public Uri? ProxyUri => string.IsNullOrWhiteSpace(Proxy) ? null : new Uri(Proxy, UriKind.Absolute);
}

/// <summary>A host's default limits (<see cref="OutboundOptions.HostLimits"/>); either may be left out.</summary>
public sealed class HostLimitOptions
{
    /// <summary>At most this many calls a second to the host (fractions allowed).</summary>
    public double? RateLimitPerSecond { get; set; }

    /// <summary>At most this many calls to the host in flight at once.</summary>
    public int? MaxConcurrency { get; set; }
}

/// <summary>How a redirect to another origin is handled.</summary>
public enum CrossOriginRedirects
{
    /// <summary>Followed without the headers marked secret and without the signature.</summary>
    FollowWithoutSecrets,

    /// <summary>Not followed: the redirect is the call's answer.</summary>
    DoNotFollow,
}

internal sealed class OutboundOptionsValidator : IValidateOptions<OutboundOptions>
{
    // What SocketsHttpHandler can speak to a proxy.
    private static readonly string[] ProxySchemes = ["http", "https", "socks4", "socks4a", "socks5"];

    public ValidateOptionsResult Validate(string? name, OutboundOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.AllowedNetworks.Count; i++)
        {
            if (!IPNetwork.TryParse(options.AllowedNetworks[i], out _))
            {
                errors.Add($"Outbound:AllowedNetworks:{i} '{options.AllowedNetworks[i]}' is not a CIDR (for example 10.20.0.0/16 or fd00::/8).");
            }
        }
        if (!string.IsNullOrWhiteSpace(options.Proxy)
            && !(Uri.TryCreate(options.Proxy, UriKind.Absolute, out var proxy) && ProxySchemes.Contains(proxy.Scheme) && proxy.AbsolutePath == "/" && proxy.Query.Length == 0))
        {
            errors.Add($"Outbound:Proxy '{options.Proxy}' is not a proxy URL (for example http://proxy.internal:3128; schemes {string.Join(", ", ProxySchemes)}).");
        }
        foreach (var (host, limits) in options.HostLimits)
        {
            if (Uri.CheckHostName(host) == UriHostNameType.Unknown)
            {
                errors.Add($"Outbound:HostLimits:{host} is not a host name (for example api.partner.com, without scheme or port).");
            }
            if (limits.RateLimitPerSecond is { } rate && TargetLimitBounds.CheckRate(rate) is { } rateError)
            {
                errors.Add($"Outbound:HostLimits:{host}:RateLimitPerSecond {rateError}");
            }
            if (limits.MaxConcurrency is { } concurrency && TargetLimitBounds.CheckConcurrency(concurrency) is { } concurrencyError)
            {
                errors.Add($"Outbound:HostLimits:{host}:MaxConcurrency {concurrencyError}");
            }
        }
        if (!Enum.IsDefined(options.CrossOriginRedirects))
        {
            errors.Add($"Outbound:CrossOriginRedirects must be {string.Join(" or ", Enum.GetNames<CrossOriginRedirects>())}.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
