using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Refit;

namespace Scheduler.Client;

/// <summary>Registers <see cref="ISchedulerApi"/> on IHttpClientFactory.</summary>
public static class SchedulerClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ISchedulerApi"/> with the standard resilience handler. Answers 429 and 503
    /// (the API refused the request and changed nothing) are retried for every method after their
    /// <c>Retry-After</c>; other transient failures (5xx, 408, network errors, timeouts) only for GET, HEAD,
    /// PUT and DELETE, so that a POST is never made twice.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the address and key.</param>
    /// <returns>The HTTP client's builder, to add handlers or change the resilience settings.</returns>
    public static IHttpClientBuilder AddSchedulerClient(this IServiceCollection services, Action<SchedulerClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<SchedulerClientOptions>().Configure(configure);
        services.AddSingleton<IValidateOptions<SchedulerClientOptions>, SchedulerClientOptionsValidator>();
        services.AddTransient<ApiKeyHandler>();
        var builder = services.AddRefitGeneratedClient<ISchedulerApi>(SchedulerJson.CreateRefitSettings())
            .ConfigureHttpClient((provider, http) => http.BaseAddress = provider.GetRequiredService<IOptions<SchedulerClientOptions>>().Value.BaseAddress)
            .AddHttpMessageHandler<ApiKeyHandler>();
        builder.AddStandardResilienceHandler(options => options.Retry.ShouldHandle = args => new ValueTask<bool>(ShouldRetry(args.Outcome, args.Context)));
        return builder;
    }

    /// <summary>Whether an outcome is retried (see <see cref="AddSchedulerClient"/>).</summary>
    internal static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context)
    {
        if (outcome.Result?.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
        {
            return true;
        }
        var method = outcome.Result?.RequestMessage?.Method ?? context.GetRequestMessage()?.Method;
        var repeatable = method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Put || method == HttpMethod.Delete;
        return repeatable && HttpClientResiliencePredicates.IsTransient(outcome);
    }

    /// <summary>Adds the API key to every request.</summary>
    private sealed class ApiKeyHandler(IOptions<SchedulerClientOptions> options) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (options.Value.ApiKey is { Length: > 0 } key)
            {
                request.Headers.Remove("X-Api-Key");
                request.Headers.Add("X-Api-Key", key);
            }
            return base.SendAsync(request, cancellationToken);
        }
    }
}
