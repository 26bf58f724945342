using Microsoft.AspNetCore.DataProtection;

namespace Scheduler.Core.Security;

/// <summary>
/// Credentials users give us to send on (target and callback headers named like credentials, signing
/// secrets) are encrypted at rest with ASP.NET Core Data Protection, whose key ring lives in PostgreSQL
/// so every API replica and worker shares it. They are decrypted only by the worker, just before the
/// call, and read <c>***</c> in every answer.
/// </summary>
public sealed class SecretProtector(IDataProtectionProvider provider)
{
    /// <summary>What a secret reads as in every answer.</summary>
    public const string Masked = "***";

    /// <summary>What every value encrypted at rest starts with; callers may not send values that do.</summary>
    public const string Prefix = "enc:v1:";

    private static readonly string[] SecretNameParts = ["token", "secret", "key", "password", "passwd", "credential", "session", "signature", "auth"];

    private readonly IDataProtector _protector = provider.CreateProtector("Scheduler.Secrets.v1");

    /// <summary>Authorization, Proxy-Authorization, Cookie, and any name containing token, secret, key, password, credential, session, signature or auth.</summary>
    public static bool IsSecretHeader(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Equals("Cookie", StringComparison.OrdinalIgnoreCase) || name.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase)
            || SecretNameParts.Any(part => name.Contains(part, StringComparison.OrdinalIgnoreCase));
    }

    public static bool IsProtected(string? value) => value?.StartsWith(Prefix, StringComparison.Ordinal) == true;

    public string Protect(string value) => IsProtected(value) ? value : Prefix + _protector.Protect(value);

    public string Unprotect(string value) => IsProtected(value) ? _protector.Unprotect(value[Prefix.Length..]) : value;

    /// <summary>
    /// The headers to store: secret values encrypted. A secret given as <c>***</c> (an answer sent back
    /// unchanged) keeps the value stored before.
    /// </summary>
    public Dictionary<string, string> ProtectHeaders(IReadOnlyDictionary<string, string> headers, IReadOnlyDictionary<string, string>? stored = null)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var result = new Dictionary<string, string>(headers.Count);
        foreach (var (name, value) in headers)
        {
            if (!IsSecretHeader(name))
            {
                result[name] = value;
            }
            else if (value == Masked && stored is not null && stored.TryGetValue(name, out var before) && IsProtected(before))
            {
                result[name] = before;
            }
            else
            {
                result[name] = Protect(value);
            }
        }
        return result;
    }

    /// <summary>The headers to send: every encrypted value decrypted.</summary>
    public Dictionary<string, string> UnprotectHeaders(IReadOnlyDictionary<string, string> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return headers.ToDictionary(h => h.Key, h => Unprotect(h.Value));
    }

    /// <summary>The headers to show: secret values as <c>***</c>.</summary>
    public static Dictionary<string, string> MaskHeaders(IReadOnlyDictionary<string, string> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return headers.ToDictionary(h => h.Key, h => IsSecretHeader(h.Key) || IsProtected(h.Value) ? Masked : h.Value);
    }
}
