using System.Diagnostics;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Scheduler.Api.Hosting;
using Scheduler.Core.Observability;

namespace Scheduler.Api.Security;

/// <summary>A configured key as the process knows it: its name, role and a stable id (not the key).</summary>
public sealed record ApiKey(string Name, string Role, string Id);

/// <summary>
/// The configured keys, kept only as SHA-256 digests. A presented key is hashed and compared with every
/// digest in constant time, so neither a key's content nor its length leaks through timing. The keys of
/// <c>Auth:KeysFile</c> are read again by <see cref="Refresh"/>; the configured ones are fixed.
/// </summary>
public sealed class ApiKeyStore
{
    public const string KeyIdClaim = "scheduler:key_id";

    private readonly IReadOnlyList<ApiKeyOptions> _configured;
    private readonly string? _file;
    private readonly ILogger<ApiKeyStore> _logger;
    private volatile KeyRing _ring;
    private string? _lastFileError;

    public ApiKeyStore(IOptions<AuthOptions> options, ILogger<ApiKeyStore> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _configured = options.Value.ApiKeys;
        _file = string.IsNullOrWhiteSpace(options.Value.KeysFile) ? null : options.Value.KeysFile;
        _logger = logger;
        _ring = new KeyRing([.. _configured, .. _file is null ? [] : ApiKeysFile.Read(_file)]);
    }

    /// <summary>The key, or null when it is not a configured key.</summary>
    public ApiKey? Find(string presented)
    {
        ArgumentNullException.ThrowIfNull(presented);
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        ApiKey? found = null;
        foreach (var (keyDigest, key) in _ring.Keys)
        {
            // No early exit: every key is compared.
            if (CryptographicOperations.FixedTimeEquals(digest, keyDigest))
            {
                found = key;
            }
        }
        return found;
    }

    /// <summary>The key with this id as configured now, or null when it is no longer configured.</summary>
    public ApiKey? FindById(string id) => _ring.ById.GetValueOrDefault(id);

    /// <summary>Reads <c>Auth:KeysFile</c> again; a file that cannot be used leaves the keys as they were.</summary>
    public void Refresh()
    {
        if (_file is null)
        {
            return;
        }
        KeyRing ring;
        try
        {
            ring = new KeyRing([.. _configured, .. ApiKeysFile.Read(_file)]);
        }
        catch (InvalidDataException e)
        {
            // Once per distinct problem, not at every refresh while it lasts.
            if (e.Message != _lastFileError)
            {
                Log.ApiKeysFileRejected(_logger, e.Message);
            }
            _lastFileError = e.Message;
            return;
        }
        _lastFileError = null;
        if (ring.Fingerprint != _ring.Fingerprint)
        {
            _ring = ring;
            Log.ApiKeysReloaded(_logger, ring.Keys.Length, _file);
        }
    }

    public static ClaimsPrincipal Principal(ApiKey key, string scheme) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, key.Name), new Claim(ClaimTypes.Role, key.Role), new Claim(KeyIdClaim, key.Id)], scheme));

    private sealed class KeyRing
    {
        public KeyRing(IReadOnlyList<ApiKeyOptions> keys)
        {
            Keys = [.. keys.Select(k =>
            {
                var digest = SHA256.HashData(Encoding.UTF8.GetBytes(k.Key));
                // The id a session remembers its key by: derived from the digest, so it names one key
                // without revealing it.
                return (digest, new ApiKey(k.Name, k.Role, Convert.ToHexString(SHA256.HashData(digest), 0, 16)));
            })];
            if (Keys.DistinctBy(k => k.Key.Id).Count() != Keys.Length)
            {
                throw new InvalidDataException("Auth:KeysFile: a key of the file is also configured or listed twice.");
            }
            ById = Keys.ToDictionary(k => k.Key.Id, k => k.Key, StringComparer.Ordinal);
            Fingerprint = string.Join('\n', Keys.Select(k => $"{k.Key.Id} {k.Key.Role} {k.Key.Name}").Order(StringComparer.Ordinal));
        }

        public (byte[] Digest, ApiKey Key)[] Keys { get; }

        public Dictionary<string, ApiKey> ById { get; }

        public string Fingerprint { get; }
    }
}

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key: &lt;key&gt;</c>. Without a valid key: 401
/// problem details; a read-only key on a write: 403 problem details.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggerFactory, UrlEncoder encoder,
    ApiKeyStore keys, ApiRehearsal rehearsal, IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    public static bool HasKey(HttpRequest request) =>
        request.Headers.ContainsKey(HeaderName) || request.Headers.Authorization.Any(v => v?.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) == true);

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (rehearsal.Authenticate(Context, SchemeName) is { } warmUp)
        {
            // The API's own warm-up through HTTP: not a client's request, so not in the request metrics. Its span is
            // made as a client's is, and never exported: it continues the warm-up's own, whose trace state marks it
            // (WarmUpTraces), and is marked here too should a propagator have dropped that.
            if (Context.Features.Get<IHttpMetricsTagsFeature>() is { } metrics)
            {
                metrics.MetricsDisabled = true;
            }
            if (Activity.Current is { } span)
            {
                WarmUpTraces.Include(span);
            }
            // A client's key is looked up (its digest, every key compared) on each request: so is the warm-up's token,
            // never a key, so that the lookup is compiled before the first client's request.
            _ = keys.Find(Request.Headers[ApiRehearsal.HeaderName].ToString());
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(warmUp, SchemeName)));
        }
        string? presented = Request.Headers[HeaderName];
        if (presented is null && Request.Headers.Authorization.ToString() is { } authorization
            && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = authorization["Bearer ".Length..].Trim();
        }
        if (string.IsNullOrEmpty(presented))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        return Task.FromResult(keys.Find(presented) is { } key
            ? AuthenticateResult.Success(new AuthenticationTicket(ApiKeyStore.Principal(key, SchemeName), SchemeName))
            : AuthenticateResult.Fail("The API key is not valid."));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await WriteAsync(new ProblemDetails
        {
            Status = StatusCodes.Status401Unauthorized,
            Title = "An API key is required.",
            Detail = HasKey(Request)
                ? "The API key given is not valid."
                : "Send a configured key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.",
        });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await WriteAsync(new ProblemDetails
        {
            Status = StatusCodes.Status403Forbidden,
            Title = "This key may not do that.",
            Detail = $"The key '{Context.User.Identity?.Name}' is {ApiRoles.ReadOnly}: it can read but not change anything. Use an {ApiRoles.Admin} key.",
        });
    }

    private async Task WriteAsync(ProblemDetails problem) =>
        await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = Context, ProblemDetails = problem });
}
