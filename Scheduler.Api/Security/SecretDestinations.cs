using Scheduler.Core.Security;

namespace Scheduler.Api.Security;

/// <summary>
/// Secrets belong to the destination they were given for. When a change points a target's <c>url</c>, or a
/// schedule's callback URLs, at another origin (scheme, host or port), the secret headers and the signing
/// secret stored for the old one are dropped unless the same request gives them again in clear; otherwise
/// whoever may edit a schedule could send its stored credentials to a host of their choosing.
/// </summary>
internal static class SecretDestinations
{
    /// <summary>Whether any URL of <paramref name="after"/> is at an origin none of <paramref name="before"/> had.</summary>
    public static bool Moved(IEnumerable<string?> before, IEnumerable<string?> after)
    {
        var origins = before.Select(Origin).Where(o => o is not null).ToHashSet(StringComparer.Ordinal);
        return after.Where(u => u is not null).Any(u => Origin(u) is not { } origin || !origins.Contains(origin));
    }

    /// <summary>
    /// The headers without the secret ones not given again in clear (absent from <paramref name="given"/>,
    /// or given as <c>***</c>, which would keep the stored value); <paramref name="dropped"/> names them.
    /// </summary>
    public static Dictionary<string, string> WithoutUnsentSecrets(IReadOnlyDictionary<string, string> headers, IReadOnlyDictionary<string, string>? given, List<string> dropped)
    {
        var kept = new Dictionary<string, string>(headers.Count);
        foreach (var (name, value) in headers)
        {
            var secret = SecretProtector.IsSecretHeader(name) || SecretProtector.IsProtected(value);
            if (secret && (given is null || !given.TryGetValue(name, out var sent) || sent == SecretProtector.Masked))
            {
                dropped.Add(name);
            }
            else
            {
                kept[name] = value;
            }
        }
        return kept;
    }

    /// <summary><c>scheme://host:port</c>, the host in lower case; null for what is not an absolute URL.</summary>
    private static string? Origin(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.IdnHost.ToLowerInvariant()}:{uri.Port}" : null;
}
