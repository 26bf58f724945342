using System.Net;
using Scheduler.Core.Security;

namespace Scheduler.Worker.Execution;

/// <summary>
/// Follows redirects for calls and callbacks, up to Execution:MaxRedirects, in place of the handler's own
/// following, so that secrets stay with their origin: a hop to another scheme, host or port goes without
/// the headers marked secret (<see cref="SecretProtector.IsSecretHeader"/>, which covers
/// <c>Authorization</c>, <c>Cookie</c> and <c>Scheduler-Signature</c>), or is not made at all with
/// Outbound:CrossOriginRedirects=DoNotFollow. Within the origin every header is kept. Every hop still
/// passes the SSRF guard below.
/// </summary>
internal sealed class RedirectFollower(IOptions<ExecutionOptions> execution, IOptions<OutboundOptions> outbound) : DelegatingHandler
{
    /// <summary>Set on a request whose last redirect was not followed, saying why.</summary>
    public static readonly HttpRequestOptionsKey<string> NotFollowed = new("Scheduler.RedirectNotFollowed");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var response = await base.SendAsync(request, cancellationToken);
        for (var hops = 0; hops < execution.Value.MaxRedirects; hops++)
        {
            var from = request.RequestUri!;
            if (NextHop(response, from) is not { } next)
            {
                return response;
            }
            if (!SameOrigin(from, next))
            {
                if (outbound.Value.CrossOriginRedirects == CrossOriginRedirects.DoNotFollow)
                {
                    request.Options.Set(NotFollowed,
                        $"The redirect to {next}, another origin, was not followed (Outbound:CrossOriginRedirects=DoNotFollow).");
                    return response;
                }
                // Removed from the request itself: they stay off for every later hop, back to the first origin included.
                foreach (var name in request.Headers.Select(h => h.Key).Where(SecretProtector.IsSecretHeader).ToList())
                {
                    request.Headers.Remove(name);
                }
            }
            if (ChangesToGet(response.StatusCode, request.Method))
            {
                request.Method = HttpMethod.Get;
                request.Content?.Dispose();
                request.Content = null;
            }
            response.Dispose();
            request.RequestUri = next;
            response = await base.SendAsync(request, cancellationToken);
        }
        return response;
    }

    /// <summary>Where a redirect points, when it is one to follow: http(s) only, and never from https down to http.</summary>
    private static Uri? NextHop(HttpResponseMessage response, Uri from)
    {
        if (response.StatusCode is not (HttpStatusCode.MultipleChoices or HttpStatusCode.MovedPermanently or HttpStatusCode.Found
                or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect)
            || response.Headers.Location is not { } location)
        {
            return null;
        }
        var next = location.IsAbsoluteUri ? location : new Uri(from, location);
        if (next.Scheme != Uri.UriSchemeHttp && next.Scheme != Uri.UriSchemeHttps
            || from.Scheme == Uri.UriSchemeHttps && next.Scheme == Uri.UriSchemeHttp)
        {
            return null;
        }
        return next;
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        Uri.Compare(a, b, UriComponents.Scheme | UriComponents.Host | UriComponents.StrongPort, UriFormat.SafeUnescaped, StringComparison.OrdinalIgnoreCase) == 0;

    // As browsers and HttpClient do: 303 turns anything but HEAD into GET; 301 and 302 turn POST into GET.
    private static bool ChangesToGet(HttpStatusCode status, HttpMethod method) => status switch
    {
        HttpStatusCode.SeeOther => method != HttpMethod.Head && method != HttpMethod.Get,
        HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.MultipleChoices => method == HttpMethod.Post,
        _ => false,
    };
}
