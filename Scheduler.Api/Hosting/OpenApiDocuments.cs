using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scheduler.Api.Compat;

namespace Scheduler.Api.Hosting;

/// <summary>
/// The OpenAPI documents: <c>v1</c> for the native API (committed as docs/openapi.json, linted and fed to a
/// client generator in CI) and one <c>compat-*</c> document per seed adapter. The generator's output is
/// made truthful here: what a request really requires (only what deserialisation demands; the rest is
/// validated into a 400), the closed sets as enums, the times that take a string or a number, the free JSON,
/// every error answer as problem details, both ways to give the key, and one 200 schema per operation.
/// </summary>
internal static partial class OpenApiDocuments
{
    public const string Native = "v1";

    /// <summary>The adapter documents by the setting that places each adapter (<see cref="CompatAdapter.Setting"/>).</summary>
    public static readonly IReadOnlyDictionary<string, string> Compat = new Dictionary<string, string>
    {
        [nameof(CompatOptions.CallmePrefix)] = "compat-callme",
        [nameof(CompatOptions.TasksPrefix)] = "compat-tasks",
        [nameof(CompatOptions.CeleryPrefix)] = "compat-celery",
        [nameof(CompatOptions.FrappePrefix)] = "compat-frappe",
    };

    public static IServiceCollection AddSchedulerOpenApi(this IServiceCollection services)
    {
        services.AddOpenApi(Native, options =>
        {
            options.ShouldInclude = description => AdapterOf(description) is null;
            options.AddDocumentTransformer<NativeDocumentTransformer>();
        });
        foreach (var (setting, name) in Compat)
        {
            services.AddOpenApi(name, options =>
            {
                options.ShouldInclude = description => AdapterOf(description)?.Setting == setting;
                options.AddDocumentTransformer((document, _, _) =>
                {
                    Describe(document, $"Scheduler: the seed adapter placed by Compat:{setting}",
                        "One of the seeds' own contracts, translated onto the native API (docs/migrating.md). Its errors are in the seed's own shape.");
                    MergeSamePaths(document);
                    return Task.CompletedTask;
                });
            });
        }
        return services;
    }

    /// <summary>
    /// One path item for routes that differ only in a parameter's name (callme's PUT /task/{name} and GET
    /// /task/{key}): OpenAPI counts them as the same path. The later ones take the first one's names.
    /// </summary>
    private static void MergeSamePaths(OpenApiDocument document)
    {
        var seen = new Dictionary<string, string>();
        foreach (var path in document.Paths.Keys.ToList())
        {
            var shape = ParameterName().Replace(path, "{}");
            if (!seen.TryAdd(shape, path) && document.Paths[path] is OpenApiPathItem item && document.Paths[seen[shape]] is OpenApiPathItem first)
            {
                var names = ParameterName().Matches(seen[shape]).Select(m => m.Groups[1].Value).ToList();
                var renames = ParameterName().Matches(path).Select((m, i) => (From: m.Groups[1].Value, To: names[i])).ToDictionary(r => r.From, r => r.To);
                foreach (var (method, operation) in item.Operations ?? [])
                {
                    foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>().Where(p => p.In == ParameterLocation.Path) ?? [])
                    {
                        parameter.Name = renames.GetValueOrDefault(parameter.Name!, parameter.Name!);
                    }
                    first.AddOperation(method, operation);
                }
                document.Paths.Remove(path);
            }
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\{([^}]+)\}")]
    private static partial System.Text.RegularExpressions.Regex ParameterName();

    private static CompatAdapter? AdapterOf(Microsoft.AspNetCore.Mvc.ApiExplorer.ApiDescription description) =>
        description.ActionDescriptor.EndpointMetadata.OfType<CompatAdapter>().FirstOrDefault();

    /// <summary>Title, the two security schemes (either will do) and a server that does not depend on who asked.</summary>
    internal static void Describe(OpenApiDocument document, string title, string description)
    {
        document.Info.Title = title;
        document.Info.Description = description;
        document.Info.License = new OpenApiLicense { Name = "MIT", Identifier = "MIT" };
        // The generator names the address the document was fetched at; the committed copy must not depend on it.
        document.Servers = [new OpenApiServer { Url = "http://127.0.0.1:8080", Description = "./run's address; use your deployment's." }];
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
        {
            ["ApiKey"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = "X-Api-Key",
                Description = "An admin or read_only key (Auth:ApiKeys).",
            },
            ["Bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "The same key as 'Authorization: Bearer <key>'.",
            },
        };
        // Two requirements: either scheme alone is enough.
        document.Security =
        [
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("ApiKey", document)] = [] },
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("Bearer", document)] = [] },
        ];
    }
}
