using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Scheduler.Core.Security;

/// <summary>
/// The token a <c>"completion": "callback"</c> target completes its run with: 32 random bytes (base64url), one
/// per attempt. Only its SHA-256 is stored (on the attempt), so the database never holds a usable token.
/// </summary>
public static class CompletionToken
{
    /// <summary>A new token, and the hash to store.</summary>
    public static (string Token, byte[] Hash) Issue()
    {
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return (token, Hash(token));
    }

    public static byte[] Hash(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return SHA256.HashData(Encoding.UTF8.GetBytes(token));
    }
}
