using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Scheduler.Api.Security;

/// <summary>
/// The dashboard's session cookie, checked on every request: it ends when its key is no longer
/// configured or has another role than at sign-in, and at the latest <c>Auth:DashboardSessionLifetime</c>
/// after the sign-in however busy it is (the cookie itself slides).
/// </summary>
internal sealed class DashboardSessionEvents(ApiKeyStore keys, IOptions<AuthOptions> options, TimeProvider time, ILogger<DashboardSessionEvents> logger)
    : CookieAuthenticationEvents
{
    /// <summary>When the session was signed in (round-trip format); the cookie's own issue time moves as it slides.</summary>
    private const string SignedInAtItem = "scheduler.signed_in_at";

    public static AuthenticationProperties NewSession(TimeProvider time) => new(new Dictionary<string, string?>
    {
        [SignedInAtItem] = time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
    })
    {
        IsPersistent = false,
    };

    public override async Task ValidatePrincipal(CookieValidatePrincipalContext context)
    {
        if (WhyEnded(context.Principal, context.Properties) is { } reason)
        {
            Log.DashboardSessionEnded(logger, context.Principal?.Identity?.Name, reason);
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(SecurityHosting.CookieScheme);
        }
    }

    public override Task RedirectToAccessDenied(RedirectContext<CookieAuthenticationOptions> context)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return Task.CompletedTask;
    }

    private string? WhyEnded(ClaimsPrincipal? principal, AuthenticationProperties properties)
    {
        if (!properties.Items.TryGetValue(SignedInAtItem, out var signedInText)
            || !DateTimeOffset.TryParseExact(signedInText, "O", CultureInfo.InvariantCulture, DateTimeStyles.None, out var signedIn))
        {
            return "it was signed in before sessions had a lifetime";
        }
        if (time.GetUtcNow() - signedIn >= options.Value.DashboardSessionLifetime)
        {
            return $"it reached its lifetime ({options.Value.DashboardSessionLifetime})";
        }
        var key = principal?.FindFirstValue(ApiKeyStore.KeyIdClaim) is { } id ? keys.FindById(id) : null;
        if (key is null)
        {
            return "its key is no longer configured";
        }
        return principal!.IsInRole(key.Role) ? null : $"its key's role is now {key.Role}";
    }
}
