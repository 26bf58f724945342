using System.Net;

namespace Scheduler.Api.Security;

/// <summary>
/// The reverse proxies whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed (section
/// <c>ForwardedHeaders</c>), so that behind a TLS-terminating proxy the API knows the request was HTTPS
/// (the session cookie is then <c>Secure</c>) and who the client is.
/// </summary>
public sealed class TrustedProxiesOptions
{
    public const string Section = "ForwardedHeaders";

    /// <summary>Addresses (<c>10.0.0.5</c>) or networks (<c>10.0.0.0/8</c>) of the proxies; empty: loopback only.</summary>
    public List<string> KnownProxies { get; set; } = [];

    public static bool TryParse(string text, out IPNetwork network)
    {
        if (IPAddress.TryParse(text, out var address))
        {
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }
        return IPNetwork.TryParse(text, out network);
    }
}

internal sealed class TrustedProxiesOptionsValidator : IValidateOptions<TrustedProxiesOptions>
{
    public ValidateOptionsResult Validate(string? name, TrustedProxiesOptions options)
    {
        var errors = options.KnownProxies
            .Select((entry, i) => TrustedProxiesOptions.TryParse(entry, out _) ? null : $"ForwardedHeaders:KnownProxies:{i} must be an IP address or a CIDR network such as 10.0.0.0/8 (got '{entry}').")
            .OfType<string>().ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
