using System.Net;
using Microsoft.Extensions.Options;

namespace Scheduler.Core.Security;

/// <summary>Where workers may connect (section <c>Outbound</c>): public addresses only, unless allowed here.</summary>
public sealed class OutboundOptions
{
    public const string Section = "Outbound";

    /// <summary>Allow loopback, private, link-local and every other non-public address (a trusted network, local development).</summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>CIDRs allowed although not public, e.g. <c>10.20.0.0/16</c> for an internal service.</summary>
    public List<string> AllowedNetworks { get; set; } = [];
}

internal sealed class OutboundOptionsValidator : IValidateOptions<OutboundOptions>
{
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
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
