using System.Text.Json;
using System.Text.Json.Serialization;
using Refit;

namespace Scheduler.Client;

/// <summary>The JSON conventions of the API: snake_case names, enums as their wire strings, nulls left out of requests.</summary>
public static class SchedulerJson
{
    /// <summary>Options that read and write the API's JSON (a new instance each call, so callers may change it).</summary>
    /// <returns>The options.</returns>
    public static JsonSerializerOptions CreateOptions() => new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // Header and callback header names are keys, not properties: sent as given.
        DictionaryKeyPolicy = null,
        // A null property of a request means "not given" (on PUT: keep the value).
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>Refit settings using <see cref="CreateOptions"/> and turning error answers into <see cref="SchedulerApiException"/>.</summary>
    /// <returns>The settings.</returns>
    public static RefitSettings CreateRefitSettings() => new(new SystemTextJsonContentSerializer(CreateOptions()))
    {
        ExceptionFactory = async response => response.IsSuccessStatusCode ? null : await SchedulerApiException.FromResponseAsync(response).ConfigureAwait(false),
    };
}
