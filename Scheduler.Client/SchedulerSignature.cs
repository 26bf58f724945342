using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Scheduler.Client;

/// <summary>
/// Checks that a call or callback comes from Scheduler, unchanged (docs/signing.md): the header
/// <c>Scheduler-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256&gt;</c>, the HMAC keyed with the
/// secret (UTF-8) over <c>"&lt;t&gt;.&lt;body&gt;"</c>, the body exactly as received.
/// </summary>
public static class SchedulerSignature
{
    /// <summary>The name of the header.</summary>
    public const string HeaderName = "Scheduler-Signature";

    /// <summary>How far <c>t</c> may be from the receiver's clock by default (five minutes), against replays.</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    /// <summary>Whether <paramref name="header"/> signs <paramref name="body"/> with <paramref name="secret"/>, at a time within <paramref name="tolerance"/> of now.</summary>
    /// <param name="header">The value of <see cref="HeaderName"/> (null or malformed: false).</param>
    /// <param name="body">The raw request body (empty for a request without one).</param>
    /// <param name="secret">The target's signing secret, or the server's Execution:SigningSecret.</param>
    /// <param name="tolerance">How far the signing time may be from now (default <see cref="DefaultTolerance"/>).</param>
    /// <param name="time">The clock (default the system's).</param>
    /// <returns>True when the signature matches and is recent.</returns>
    public static bool Verify(string? header, ReadOnlySpan<byte> body, string secret, TimeSpan? tolerance = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (!TryParse(header, out var unixSeconds, out var given))
        {
            return false;
        }
        var now = (time ?? TimeProvider.System).GetUtcNow();
        var signedAt = DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
        if ((now - signedAt).Duration() > (tolerance ?? DefaultTolerance))
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(Mac(secret, unixSeconds, body), given);
    }

    /// <summary>As <see cref="Verify(string?, ReadOnlySpan{byte}, string, TimeSpan?, TimeProvider?)"/>, for a body read as UTF-8 text.</summary>
    /// <param name="header">The value of <see cref="HeaderName"/>.</param>
    /// <param name="body">The request body as text.</param>
    /// <param name="secret">The signing secret.</param>
    /// <param name="tolerance">How far the signing time may be from now.</param>
    /// <param name="time">The clock.</param>
    /// <returns>True when the signature matches and is recent.</returns>
    public static bool Verify(string? header, string body, string secret, TimeSpan? tolerance = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Verify(header, Encoding.UTF8.GetBytes(body), secret, tolerance, time);
    }

    /// <summary>The header Scheduler would send for <paramref name="body"/> signed at <paramref name="unixSeconds"/> (for receivers' own tests).</summary>
    /// <param name="secret">The signing secret.</param>
    /// <param name="unixSeconds">The signing time.</param>
    /// <param name="body">The request body.</param>
    /// <returns>The header's value.</returns>
    public static string Sign(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var hex = Convert.ToHexString(Mac(secret, unixSeconds, body)).ToLowerInvariant();
        return $"t={unixSeconds.ToString(CultureInfo.InvariantCulture)},v1={hex}";
    }

    private static byte[] Mac(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(unixSeconds.ToString(CultureInfo.InvariantCulture) + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message);
    }

    private static bool TryParse(string? header, out long unixSeconds, out byte[] mac)
    {
        unixSeconds = 0;
        mac = [];
        string? t = null, v1 = null;
        foreach (var part in (header ?? string.Empty).Split(','))
        {
            var pair = part.Split('=', 2);
            if (pair.Length != 2)
            {
                continue;
            }
            switch (pair[0].Trim())
            {
                case "t": t = pair[1].Trim(); break;
                case "v1": v1 = pair[1].Trim(); break;
            }
        }
        if (t is null || v1 is null || v1.Length != 64
            || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out unixSeconds)
            || unixSeconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            return false;
        }
        try
        {
            mac = Convert.FromHexString(v1);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
