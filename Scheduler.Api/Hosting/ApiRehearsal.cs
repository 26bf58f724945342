using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Scheduler.Api.Schedules;
using Scheduler.Api.Security;

namespace Scheduler.Api.Hosting;

/// <summary>
/// The HTTP part of the API's warm-up (<see cref="ApiWarmup"/>): while it runs, a request from this machine that
/// carries <see cref="HeaderName"/> with the token drawn for this run of the warm-up is authenticated as the
/// warm-up (<see cref="IsRehearsal"/>), is not rate limited, logged, traced or counted in the request metrics, and
/// its create is written to the warm-up's own database (<see cref="Writer"/>, <see cref="RehearsalWriter"/>), or,
/// without one, validated and made ready but not sent. The token is 32 random bytes that never leave the process,
/// and it is forgotten when the warm-up ends. Readiness waits for <see cref="Done"/>.
/// </summary>
internal sealed class ApiRehearsal
{
    public const string HeaderName = "X-Scheduler-Rehearsal";

    // Not a configured key's id (those are 32 hex digits), so no key and no dashboard session can be the warm-up.
    private const string KeyId = "warm-up";

    private static readonly ApiKey WarmUpKey = new("warm-up", ApiRoles.Admin, KeyId);

    private volatile byte[]? _token;
    private volatile bool _done;

    /// <summary>True once the warm-up has ended (or was never to run): the API may report ready.</summary>
    public bool Done => _done;

    /// <summary>Where the warm-up's creates are written: its own database's writer and quota, or null (made ready, not sent).</summary>
    public RehearsalWriter? Writer { get; private set; }

    /// <summary>Draws the token for the warm-up's requests, whose creates go to <paramref name="writer"/>, and returns it as the header's value.</summary>
    public string Begin(RehearsalWriter? writer)
    {
        Writer = writer;
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        _token = Encoding.ASCII.GetBytes(token);
        return token;
    }

    /// <summary>Forgets the token (no request is the warm-up any more) and lets readiness pass.</summary>
    public void End()
    {
        _token = null;
        Writer = null;
        _done = true;
    }

    /// <summary>The warm-up's principal when <paramref name="context"/> is one of its requests, else null.</summary>
    public ClaimsPrincipal? Authenticate(HttpContext context, string scheme)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_token is not { } token || context.Request.Headers[HeaderName] is not [{ } presented]
            || context.Connection.RemoteIpAddress is not { } remote || !IPAddress.IsLoopback(remote)
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(presented), token))
        {
            return null;
        }
        return ApiKeyStore.Principal(WarmUpKey, scheme);
    }

    /// <summary>Whether <paramref name="user"/> is the warm-up, authenticated by <see cref="Authenticate"/>.</summary>
    public static bool IsRehearsal(ClaimsPrincipal user) => user?.FindFirst(ApiKeyStore.KeyIdClaim)?.Value == KeyId;
}
