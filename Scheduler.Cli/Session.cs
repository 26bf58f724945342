using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Scheduler.Client;

namespace Scheduler.Cli;

/// <summary>
/// One invocation's connection: the typed client, and the same HTTP client (key, resilience) for the
/// raw JSON that <c>--json</c> prints exactly as the API sent it.
/// </summary>
internal sealed class Session : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = SchedulerJson.CreateOptions();
    private readonly ServiceProvider _services;
    private readonly HttpClient _http;

    public Session(Connection connection, TextWriter output)
    {
        var services = new ServiceCollection();
        var client = services.AddSchedulerClient(o =>
        {
            o.BaseAddress = connection.Url;
            o.ApiKey = connection.ApiKey;
        });
        _services = services.BuildServiceProvider();
        _http = _services.GetRequiredService<IHttpClientFactory>().CreateClient(client.Name);
        Api = _services.GetRequiredService<ISchedulerApi>();
        Out = output;
    }

    public ISchedulerApi Api { get; }

    public TextWriter Out { get; }

    /// <summary>GETs <paramref name="pathAndQuery"/> and returns the body as sent; an error answer throws <see cref="SchedulerApiException"/>.</summary>
    public async Task<string> GetRawAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(new Uri(pathAndQuery, UriKind.Relative), cancellationToken);
        return await BodyOrThrowAsync(response, cancellationToken);
    }

    /// <summary>POSTs a JSON body as given (<c>--json</c> on create) and returns the answer's body.</summary>
    public async Task<T> PostRawAsync<T>(string path, string json, CancellationToken cancellationToken)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(new Uri(path, UriKind.Relative), content, cancellationToken);
        var body = await BodyOrThrowAsync(response, cancellationToken);
        return JsonSerializer.Deserialize<T>(body, Json) ?? throw new CliException($"The API answered {path} with an empty body.");
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _services.DisposeAsync();
    }

    private static async Task<string> BodyOrThrowAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw await SchedulerApiException.FromResponseAsync(response);
        }
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }
}
