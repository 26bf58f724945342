using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using Scheduler.Api.Validation;

namespace Scheduler.Api.Compat;

/// <summary>
/// The seeds' contracts, each a thin adapter over the one model: it translates its requests into
/// schedules (through the same code as POST /schedules) and reads runs and attempts back in its shapes.
/// Each is mapped under its own prefix and carries the API's authentication.
/// </summary>
internal static class CompatHosting
{
    public static IServiceCollection AddCompat(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CompatOptions>().Bind(configuration.GetSection(CompatOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CompatOptions>, CompatOptionsValidator>();
        return services;
    }

    public static WebApplication MapCompat(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<CompatOptions>>().Value;
        Map(app, nameof(CompatOptions.CallmePrefix), options.CallmePrefix, "Compat: callme (seed 002)", g => g.MapCallme());
        Map(app, nameof(CompatOptions.TasksPrefix), options.TasksPrefix, "Compat: tasks RPC (seed 003)", g => g.MapTasksRpc());
        Map(app, nameof(CompatOptions.CeleryPrefix), options.CeleryPrefix, "Compat: reliable tasks (seed 004)", g => g.MapCeleryTasks());
        Map(app, nameof(CompatOptions.FrappePrefix), options.FrappePrefix, "Compat: Schedule Requests (seed 000)", g => g.MapScheduleRequests());
        return app;
    }

    private static void Map(WebApplication app, string setting, string prefix, string tag, Func<RouteGroupBuilder, RouteGroupBuilder> map)
    {
        if (prefix.Length == 0)
        {
            return;
        }
        // "/" serves the adapter at the root: at the seed's own paths, beside the native API.
        var group = app.MapGroup(prefix == "/" ? "" : prefix).WithTags(tag).WithMetadata(new CompatAdapter(setting, prefix));
        map(group);
    }

    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions Indented = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };

    /// <summary>JSON as a seed writes it; indented when the query has <c>pretty</c> (callme's common parameter).</summary>
    public static IResult Json(HttpContext context, JsonNode? body, int status = StatusCodes.Status200OK)
    {
        ArgumentNullException.ThrowIfNull(context);
        var pretty = context.Request.Query.TryGetValue("pretty", out var value) && !string.Equals(value.ToString(), "false", StringComparison.OrdinalIgnoreCase);
        return Results.Content((body ?? JsonValue.Create((string?)null))?.ToJsonString(pretty ? Indented : Compact) ?? "null", "application/json", statusCode: status);
    }

    /// <summary>Reads the body as a JSON object, or says why not.</summary>
    public static async Task<(JsonObject? Body, string? Error)> ReadObjectAsync(HttpRequest request, bool optional = false)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            var node = request.ContentLength == 0 && optional ? null : await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
            return node switch
            {
                JsonObject body => (body, null),
                null when optional => (new JsonObject(), null),
                _ => (null, "the body must be a JSON object"),
            };
        }
        catch (JsonException ex)
        {
            return optional && request.ContentLength is null or 0 ? (new JsonObject(), null) : (null, $"the body is not valid JSON: {ex.Message}");
        }
    }

    /// <summary>
    /// Whether a write failed because another live schedule of the adapter holds the key: the unique index
    /// on (source, external_key), which decides races that a read before the write cannot.
    /// </summary>
    public static bool IsKeyTaken(Exception exception) =>
        (exception as PostgresException ?? exception.InnerException as PostgresException)
            is { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: SchedulerDbContext.ExternalKeyIndex };

    /// <summary>One line listing each field's problems, for contracts whose errors are a single string.</summary>
    public static string Describe(ValidationErrors errors) =>
        string.Join("; ", errors.ToDictionary().Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));

    /// <summary>A string field, or null; a number is taken as its text.</summary>
    public static string? Text(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<long>(out var n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture),
        var other => other.ToJsonString(),
    };
}
