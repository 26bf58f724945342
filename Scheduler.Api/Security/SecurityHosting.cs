using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Scheduler.Api.Security;

/// <summary>
/// Who may do what: API keys for the API, a sign-in with a key (a cookie session) for the dashboard,
/// admin keys write and read-only keys read, and a rate limit per key.
/// </summary>
internal static class SecurityHosting
{
    public const string PolicyScheme = "Scheduler";
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;
    public const string DashboardPath = "/hangfire";
    public const string LoginPath = "/login";
    public const string LogoutPath = "/logout";

    public static IServiceCollection AddSchedulerSecurity(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddOptions<LimitsOptions>().Bind(configuration.GetSection(LimitsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LimitsOptions>, LimitsOptionsValidator>();
        services.AddSingleton<ApiKeyStore>();
        services.AddHostedService<ApiKeysFileRefresher>();
        services.AddOptions<TrustedProxiesOptions>().Bind(configuration.GetSection(TrustedProxiesOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TrustedProxiesOptions>, TrustedProxiesOptionsValidator>();
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<TrustedProxiesOptions>>((forwarded, trusted) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            if (trusted.Value.KnownProxies.Count > 0)
            {
                // Configured proxies replace the default (loopback): trust exactly what was named.
                forwarded.KnownProxies.Clear();
                forwarded.KnownIPNetworks.Clear();
                foreach (var entry in trusted.Value.KnownProxies)
                {
                    _ = TrustedProxiesOptions.TryParse(entry, out var network);
                    forwarded.KnownIPNetworks.Add(network);
                }
            }
        });
        // Hangfire's dashboard puts the token in its pages and checks it on every POST once this is
        // registered; the sign-in and sign-out forms check it too.
        services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.Name = "scheduler_csrf";
            antiforgery.Cookie.HttpOnly = true;
            antiforgery.Cookie.SameSite = SameSiteMode.Strict;
            antiforgery.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.AddSingleton<DashboardSessionEvents>();
        services.TryAddSingleton<ScheduleQuota>();

        services.AddAuthentication(PolicyScheme)
            // A request carrying a key is judged by the key; the dashboard and its sign-in page otherwise
            // use the session cookie; everything else answers 401 problem details.
            .AddPolicyScheme(PolicyScheme, "API key, or the dashboard's session", options => options.ForwardDefaultSelector = context =>
                ApiKeyAuthenticationHandler.HasKey(context.Request) || !IsDashboard(context.Request.Path)
                    ? ApiKeyAuthenticationHandler.SchemeName
                    : CookieScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddCookie(CookieScheme);
        services.AddOptions<CookieAuthenticationOptions>(CookieScheme).Configure<IOptions<AuthOptions>>((cookie, auth) =>
        {
            cookie.Cookie.Name = "scheduler_session";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.Cookie.Path = "/";
            cookie.ExpireTimeSpan = auth.Value.DashboardSession;
            cookie.SlidingExpiration = true;
            cookie.LoginPath = LoginPath;
            cookie.EventsType = typeof(DashboardSessionEvents);
        });

        services.AddSingleton<IAuthorizationHandler, WriteAccessHandler>();
        services.AddAuthorizationBuilder()
            .SetDefaultPolicy(KeyPolicy())
            // Every endpoint and the dashboard need a key unless marked anonymous (health, docs, sign-in).
            .SetFallbackPolicy(KeyPolicy());

        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>((kestrel, limits) =>
            kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBodyBytes);
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<LimitsOptions>>((rate, limits) => ConfigureRateLimiter(rate, limits.Value));
        return services;
    }

    public static WebApplication UseSchedulerSecurity(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        return app;
    }

    private static AuthorizationPolicy KeyPolicy() =>
        new AuthorizationPolicyBuilder(PolicyScheme).RequireAuthenticatedUser().AddRequirements(new WriteAccessRequirement()).Build();

    public static bool IsDashboard(PathString path) =>
        path.StartsWithSegments(DashboardPath, StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments(LoginPath, StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments(LogoutPath, StringComparison.OrdinalIgnoreCase);

    private static void ConfigureRateLimiter(RateLimiterOptions rate, LimitsOptions limits)
    {
        rate.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        rate.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
        {
            if (limits.RequestsPerSecond == 0 || context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase)
                || Hosting.ApiRehearsal.IsRehearsal(context.User))
            {
                return RateLimitPartition.GetNoLimiter("unlimited");
            }
            // Per key; callers without a valid key share a bucket per address.
            var partition = context.User.Identity?.IsAuthenticated == true
                ? "key:" + context.User.Identity.Name
                : "ip:" + (context.Connection.RemoteIpAddress ?? IPAddress.None);
            return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = limits.Burst,
                TokensPerPeriod = limits.RequestsPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        });
        rate.OnRejected = async (context, cancellationToken) =>
        {
            var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 1;
            context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            var problems = context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>();
            await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = context.HttpContext,
                ProblemDetails = new ProblemDetails
                {
                    Status = StatusCodes.Status429TooManyRequests,
                    Title = "Too many requests for this key.",
                    Detail = $"This key may make {limits.RequestsPerSecond} requests a second (bursts of {limits.Burst}); retry after {seconds} s.",
                },
            });
        };
    }

    /// <summary>The dashboard's sign-in (an API key exchanged for a session cookie) and sign-out.</summary>
    public static WebApplication MapDashboardSignIn(this WebApplication app)
    {
        app.MapGet(LoginPath, (HttpContext context, IAntiforgery antiforgery) =>
            Page(LoginForm(context.Request.Query["ReturnUrl"], Token(context, antiforgery), failure: null)))
            .AllowAnonymous().ExcludeFromDescription();
        app.MapPost(LoginPath, SignInAsync).AllowAnonymous().ExcludeFromDescription();
        // Open to every session, read-only ones included; the form's token keeps other sites from ending it.
        app.MapGet(LogoutPath, (HttpContext context, IAntiforgery antiforgery) => Page(LogoutForm(Token(context, antiforgery))))
            .AllowAnonymous().ExcludeFromDescription();
        app.MapPost(LogoutPath, async (HttpContext context, IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return Page(LogoutForm(Token(context, antiforgery)), StatusCodes.Status400BadRequest);
            }
            await context.SignOutAsync(CookieScheme);
            return Results.Redirect(LoginPath);
        }).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> SignInAsync(HttpContext context, ApiKeyStore keys, IAntiforgery antiforgery, TimeProvider time)
    {
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted) : null;
        var returnUrl = form?["return_url"].ToString();
        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return Page(LoginForm(returnUrl, Token(context, antiforgery), "The sign-in form expired: sign in again."), StatusCodes.Status400BadRequest);
        }
        if (form?["key"].ToString() is not { Length: > 0 } presented || keys.Find(presented) is not { } key)
        {
            return Page(LoginForm(returnUrl, Token(context, antiforgery), "That key is not valid."), StatusCodes.Status401Unauthorized);
        }
        await context.SignInAsync(CookieScheme, ApiKeyStore.Principal(key, CookieScheme), DashboardSessionEvents.NewSession(time));
        // Only back to a page of this dashboard: never an open redirect.
        return Results.Redirect(returnUrl is { Length: > 0 } url && url.StartsWith(DashboardPath, StringComparison.Ordinal) && !url.StartsWith("//", StringComparison.Ordinal) ? url : DashboardPath);
    }

    private static AntiforgeryTokenSet Token(HttpContext context, IAntiforgery antiforgery) => antiforgery.GetAndStoreTokens(context);

    private static IResult Page(string body, int status = StatusCodes.Status200OK) => Results.Content($$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Scheduler dashboard</title>
        <style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}input,button{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;margin:.25rem 0}</style></head>
        <body><h1>Scheduler dashboard</h1>
        {{body}}
        </body></html>
        """, "text/html; charset=utf-8", statusCode: status);

    private static string LoginForm(string? returnUrl, AntiforgeryTokenSet token, string? failure) => $$"""
        {{(failure is null ? "" : $"<p role=\"alert\"><strong>{WebUtility.HtmlEncode(failure)}</strong></p>")}}
        <form method="post" action="{{LoginPath}}">
        <label for="key">API key (admin keys may requeue and delete; read-only keys may look)</label>
        <input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
        <input type="hidden" name="return_url" value="{{WebUtility.HtmlEncode(returnUrl ?? DashboardPath)}}">
        {{TokenField(token)}}
        <button type="submit">Sign in</button></form>
        """;

    private static string LogoutForm(AntiforgeryTokenSet token) => $$"""
        <form method="post" action="{{LogoutPath}}">
        {{TokenField(token)}}
        <button type="submit">Sign out</button></form>
        <p><a href="{{DashboardPath}}">Back to the dashboard</a></p>
        """;

    private static string TokenField(AntiforgeryTokenSet token) =>
        $"<input type=\"hidden\" name=\"{WebUtility.HtmlEncode(token.FormFieldName)}\" value=\"{WebUtility.HtmlEncode(token.RequestToken)}\">";
}

/// <summary>Reads need any valid key; anything else needs an admin key.</summary>
internal sealed class WriteAccessRequirement : IAuthorizationRequirement;

internal sealed class WriteAccessHandler : AuthorizationHandler<WriteAccessRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, WriteAccessRequirement requirement)
    {
        var request = (context.Resource as HttpContext)?.Request;
        var reads = request is null || HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method)
            // The dashboard polls its counters with POST.
            || request.Path.StartsWithSegments(SecurityHosting.DashboardPath + "/stats", StringComparison.OrdinalIgnoreCase);
        if (context.User.Identity?.IsAuthenticated == true && (reads || context.User.IsInRole(ApiRoles.Admin)))
        {
            context.Succeed(requirement);
        }
        return Task.CompletedTask;
    }
}
