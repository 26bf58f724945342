using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scheduler.Api.Endpoints;
using Scheduler.Api.Http;
using Scheduler.Api.Targets;

namespace Scheduler.Api.Hosting;

/// <summary>
/// Makes the native API's document say what the API does (see <see cref="OpenApiDocuments"/>): a validating
/// proxy or a generated client built on it must accept every valid request and every real answer.
/// </summary>
internal sealed partial class NativeDocumentTransformer : IOpenApiDocumentTransformer
{
    private const string Problem = "ProblemDetails";
    private const string ValidationProblem = "HttpValidationProblemDetails";
    private const string ProblemJson = "application/problem+json";

    /// <summary>Request bodies: every field may be left out (the API validates them into a 400 naming the field).</summary>
    private static readonly string[] Requests = ["ScheduleRequest", "TargetRequest", "RetryRequest", "BulkScheduleRequest", "CompletionRequest"];

    /// <summary>A callback target's calls (docs/api.md, Long-running endpoints): its attempt's token, not an API key.</summary>
    private static readonly string[] ByCompletionToken = ["CompleteRun", "HeartbeatRun"];

    private const string CompletionTokenScheme = "CompletionToken";

    /// <summary>The lists that page: their item schema.</summary>
    private static readonly Dictionary<string, string> Lists = new()
    {
        ["ListSchedules"] = "ScheduleResponse",
        ["ListTargets"] = "TargetResponse",
        ["ListRuns"] = "RunResponse",
    };

    /// <summary>Operations that answer 409 (a conflict with the state of a record).</summary>
    private static readonly string[] Conflicts = ["CreateTarget", "UpdateTarget", "DeleteTarget", "RetryRun"];

    private static readonly Dictionary<string, string> Tags = new()
    {
        ["Health"] = "Health and probes; open without a key.",
        ["Targets"] = "Reusable HTTP endpoints that schedules call.",
        ["Schedules"] = "What to call and when: IMMEDIATE, ONCE, INTERVAL, WINDOW or CRON.",
        ["Runs"] = "One run per occurrence, with the attempts that made it.",
        ["Metrics"] = "Lateness and outcomes, system-wide and per schedule.",
        ["Jobs"] = "Named jobs that a schedule may run instead of an HTTP call.",
        ["Reconciliation"] = "Repairs between the schedules' runs and Hangfire's jobs.",
    };

    private static readonly string[] Anonymous = ["GetHealth", "GetLiveness", "GetReadiness"];

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        OpenApiDocuments.Describe(document, "Scheduler API",
            "Cron for HTTP APIs: schedule HTTP calls now, later, or on a cadence, and read every run and attempt. "
            + "Every endpoint but /health needs an API key: 'X-Api-Key: <key>' or 'Authorization: Bearer <key>'; "
            + "a read_only key may only read (403 on writes). Errors are RFC 7807 problem details; a 400 names each bad field in 'errors'. "
            + "The seed adapters have documents of their own: /openapi/compat-callme.json, compat-tasks, compat-celery, compat-frappe.");
        document.Tags = new HashSet<OpenApiTag>(Tags.Select(t => new OpenApiTag { Name = t.Key, Description = t.Value }));
        document.Components!.SecuritySchemes![CompletionTokenScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "The token a 'completion: callback' target's call carried (X-Scheduler-Completion-Token), as 'Authorization: Bearer <token>'.",
        };
        var schemas = document.Components!.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        Schemas(document, schemas);
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item.Operations ?? [])
            {
                Operation(document, path, method, operation);
                operation.Description = Unwrapped(operation.Description);
                foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
                {
                    parameter.Description = Unwrapped(parameter.Description);
                }
            }
        }
        foreach (var schema in schemas.Values.OfType<OpenApiSchema>())
        {
            schema.Description = Unwrapped(schema.Description);
            foreach (var property in schema.Properties?.Values.OfType<OpenApiSchema>() ?? [])
            {
                property.Description = Unwrapped(property.Description);
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// The descriptions come from XML doc comments, with the source's line wrapping: a single line break is only
    /// that (Markdown reads it as a space), but renderers and generated clients show it. A blank line stays a
    /// paragraph break.
    /// </summary>
    private static string? Unwrapped(string? text) => text is null ? null : SingleLineBreak().Replace(text, " ");

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<!\n) *\n *(?!\n)")]
    private static partial System.Text.RegularExpressions.Regex SingleLineBreak();

    private static void Schemas(OpenApiDocument document, IDictionary<string, IOpenApiSchema> schemas)
    {
        // Enum components carry their type (some generators need it to make an enum rather than an object), and
        // no null: the generator adds one when a use is nullable, but each use says that itself (oneOf with null).
        foreach (var schema in schemas.Values.OfType<OpenApiSchema>().Where(s => s.Enum is { Count: > 0 }))
        {
            schema.Type = JsonSchemaType.String;
            schema.Enum = [.. schema.Enum!.Where(v => v is not null)];
        }
        schemas["HttpMethod"] = Enum(TargetValidation.Methods, "An HTTP method.");
        schemas["ScheduleSource"] = Enum(["api", "callme", "tasks", "celery", "frappe"], "The contract a schedule came through: the native API or a seed adapter.");
        schemas[Problem] = ProblemSchema(validation: false);
        schemas[ValidationProblem] = ProblemSchema(validation: true);
        schemas.Remove("JsonElement");

        foreach (var name in Requests)
        {
            var request = (OpenApiSchema)schemas[name];
            // Unknown fields are refused (a 400 naming them).
            request.AdditionalPropertiesAllowed = false;
            request.AdditionalProperties = null;
            request.Required = name == "BulkScheduleRequest" ? new HashSet<string> { "schedules" } : new HashSet<string>();
        }

        var schedule = Properties(schemas, "ScheduleRequest");
        schedule["schedule_type"] = NullableRef(document, "ScheduleType", "IMMEDIATE, ONCE, INTERVAL, WINDOW or CRON (any case). Required by POST /schedules.");
        schedule["overlap_policy"] = NullableRef(document, "OverlapPolicy", schedule["overlap_policy"].Description);
        schedule["catch_up_policy"] = NullableRef(document, "CatchUpPolicy", schedule["catch_up_policy"].Description);
        foreach (var field in new[] { "run_at", "start_at", "end_at" })
        {
            schedule[field] = Time(schedule[field].Description ?? DescriptionOfRef(schedule[field]));
        }
        schedule["args"] = FreeObject("JSON arguments for the named job: an object, checked against the arguments GET /jobs lists for it.", nullable: true);
        schedule["expected_http_status"] = new OpenApiSchema
        {
            Description = "The status code, or a list of up to 20 codes, that count as success; default any 2xx.",
            OneOf =
            [
                new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "100", Maximum = "599" },
                new OpenApiSchema
                {
                    Type = JsonSchemaType.Array, MinItems = 1, MaxItems = 20,
                    Items = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "100", Maximum = "599" },
                },
                new OpenApiSchema { Type = JsonSchemaType.Null },
            ],
        };
        Properties(schemas, "ScheduleResponse")["args"] = FreeObject("The named job's arguments as given.", nullable: true);
        Properties(schemas, "ScheduleResponse")["source"] = Ref(document, "ScheduleSource");
        Properties(schemas, "JobResponse")["args_example"] = FreeObject("Arguments to start from.", nullable: true);
        var target = Properties(schemas, "TargetRequest");
        target["method"] = NullableRef(document, "HttpMethod", "GET (default), POST, PUT, PATCH, DELETE, HEAD or OPTIONS (any case).");
        Properties(schemas, "TargetResponse")["method"] = Ref(document, "HttpMethod");
        target["completion"] = NullableRef(document, "CompletionMode", "response (default) or callback: a 2xx only accepts the call; the target completes the run at POST /runs/{id}/complete.");
        // Both fields of a continuation are required (the record takes nulls only to name them in a 400).
        var continuation = Properties(schemas, "ContinuationRequest");
        continuation["when"] = Enum(WireName.Values<ContinuationWhen>(), continuation["when"].Description!);
        continuation["schedule_id"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Description = continuation["schedule_id"].Description };
        schedule["continuations"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Array | JsonSchemaType.Null, MaxItems = ContinuationStatements.MaxPerSchedule,
            Items = Ref(document, "ContinuationRequest"), Description = schedule["continuations"].Description,
        };
        var completion = Properties(schemas, "CompletionRequest");
        completion["status"] = Enum(["success", "failure"], "success, or failure (retried by the schedule's retry policy). Required.");
        completion["output"] = new OpenApiSchema { Description = "The job's result: any JSON, at most 64 KiB. Stored on the run and sent in its callback." };

        // Present only on GET /runs/{id}.
        var run = (OpenApiSchema)schemas["RunResponse"];
        run.Required?.Remove("attempts");
        run.Required?.Remove("callback_deliveries");
        run.Required?.Remove("output");
        Properties(schemas, "RunResponse")["output"] = new OpenApiSchema { Description = "What a callback target completed the run with (any JSON); GET /runs/{id} only." };
    }

    private static void Operation(OpenApiDocument document, string path, HttpMethod method, OpenApiOperation operation)
    {
        var id = operation.OperationId ?? "";
        var responses = operation.Responses ??= [];
        if (Anonymous.Contains(id))
        {
            // Open to everyone; 503 when the database does not answer (same body as the 200).
            operation.Security = [];
            if (responses.TryGetValue("200", out var ok) && id != "GetLiveness")
            {
                responses["503"] = new OpenApiResponse { Description = "Service Unavailable: the database does not answer.", Content = ok.Content };
            }
            return;
        }
        if (ByCompletionToken.Contains(id))
        {
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(CompletionTokenScheme, document)] = [] }];
            if (operation.RequestBody is not null)
            {
                responses["400"] = Error(document, ValidationProblem, "Bad Request: a field of the completion is not valid ('errors' names it); nothing was changed.");
            }
            responses["401"] = Error(document, Problem, "Unauthorized: no token, or not a token of this run; nothing was changed.");
            responses["409"] = Error(document, Problem, "Conflict: the token's attempt is not waiting any more (completed, timed out, or replaced by a later attempt); nothing was changed.");
            responses["429"] = Error(document, Problem, "Too Many Requests: over the rate for requests without a key; wait Retry-After seconds.", retryAfter: true);
            responses["503"] = Error(document, Problem, "Service Unavailable: the database does not answer; nothing was changed. Retry after Retry-After seconds.", retryAfter: true);
            return;
        }
        if (Lists.TryGetValue(id, out var item))
        {
            PagedAnswer(document, (OpenApiResponse)responses["200"], item);
        }
        if (operation.Parameters is { Count: > 0 } || operation.RequestBody is not null)
        {
            responses["400"] = Error(document, ValidationProblem, "Bad Request: a field, parameter or body is not valid ('errors' names each field).");
        }
        responses["401"] = Error(document, Problem, "Unauthorized: no API key, or not one of this server's.");
        if (method != HttpMethod.Get)
        {
            responses["403"] = Error(document, Problem, "Forbidden: a read_only key may not write.");
        }
        if (path.Contains("{id}", StringComparison.Ordinal))
        {
            responses["404"] = Error(document, Problem, "Not Found: no such record.");
        }
        if (Conflicts.Contains(id))
        {
            responses["409"] = Error(document, Problem, "Conflict: the record's state does not allow it (in use, not finished, or its name is taken).");
        }
        responses["429"] = Error(document, Problem, "Too Many Requests: over this key's rate (Limits:RequestsPerSecond); wait Retry-After seconds.", retryAfter: true);
        responses["503"] = Error(document, Problem, "Service Unavailable: the database does not answer or its schema is not current; nothing was changed. Retry after Retry-After seconds.", retryAfter: true);
        if (operation.RequestBody?.Content?.TryGetValue("application/json", out var body) == true && RequestExamples.For(id) is { } example)
        {
            body.Example = JsonNode.Parse(example);
        }
        if (id == "ListRuns" && operation.Parameters?.FirstOrDefault(p => p.Name == "status_filter") is OpenApiParameter status)
        {
            status.Schema = Ref(document, "RunStatus");
            status.Description = "Only runs in this status.";
        }
    }

    /// <summary>
    /// Without a cursor the answer is a JSON list (seed 001's shape) with X-Next-Cursor when more follow;
    /// with one it is a page. One schema says both.
    /// </summary>
    private static void PagedAnswer(OpenApiDocument document, OpenApiResponse ok, string item)
    {
        ok.Description = "Without 'cursor': a JSON list, with X-Next-Cursor when more follow. With 'cursor' (empty for the first page): a page {items, next_cursor}.";
        ok.Content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/json"] = new()
            {
                Schema = new OpenApiSchema
                {
                    OneOf =
                    [
                        new OpenApiSchema { Type = JsonSchemaType.Array, Items = Ref(document, item) },
                        Ref(document, $"PageOf{item}"),
                    ],
                },
            },
        };
        ok.Headers = new Dictionary<string, IOpenApiHeader>
        {
            [Paging.NextCursorHeader] = new OpenApiHeader
            {
                Description = "The cursor of the next page, when more follow (on the list answer, without 'cursor').",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            },
        };
    }

    private static OpenApiResponse Error(OpenApiDocument document, string schema, string description, bool retryAfter = false) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { [ProblemJson] = new() { Schema = Ref(document, schema) } },
        Headers = retryAfter
            ? new Dictionary<string, IOpenApiHeader>
            {
                ["Retry-After"] = new OpenApiHeader { Description = "Seconds to wait.", Schema = new OpenApiSchema { Type = JsonSchemaType.Integer } },
            }
            : null,
    };

    private static OpenApiSchema ProblemSchema(bool validation)
    {
        var schema = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = validation ? "RFC 7807 problem details; 'errors' names each bad field (snake_case, schedules[i].field in a bulk request)." : "RFC 7807 problem details.",
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                ["title"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer | JsonSchemaType.Null, Format = "int32" },
                ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
                ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
            },
            // Extensions such as traceId.
            AdditionalPropertiesAllowed = true,
        };
        if (validation)
        {
            schema.Properties["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
            };
        }
        return schema;
    }

    private static IDictionary<string, IOpenApiSchema> Properties(IDictionary<string, IOpenApiSchema> schemas, string name) =>
        ((OpenApiSchema)schemas[name]).Properties!;

    private static OpenApiSchemaReference Ref(OpenApiDocument document, string name) => new(name, document);

    private static OpenApiSchema NullableRef(OpenApiDocument document, string name, string? description) => new()
    {
        Description = description,
        OneOf = [new OpenApiSchema { Type = JsonSchemaType.Null }, Ref(document, name)],
    };

    private static OpenApiSchema Enum(IEnumerable<string> values, string description) => new()
    {
        Type = JsonSchemaType.String,
        Description = description,
        Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v))],
    };

    private static OpenApiSchema FreeObject(string description, bool nullable) => new()
    {
        Type = nullable ? JsonSchemaType.Object | JsonSchemaType.Null : JsonSchemaType.Object,
        Description = description,
        AdditionalPropertiesAllowed = true,
    };

    /// <summary>A time as an ISO-8601 or relative string, or Unix seconds.</summary>
    private static OpenApiSchema Time(string? description) => new()
    {
        Description = description,
        OneOf =
        [
            new OpenApiSchema { Type = JsonSchemaType.String, Description = "ISO-8601 (2030-01-01T09:00:00Z), relative (+90s, +10m, +6h, +2d)." },
            new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Description = "Unix seconds." },
            new OpenApiSchema { Type = JsonSchemaType.Null },
        ],
    };

    // The generator puts a $ref's description beside it in a oneOf with null.
    private static string? DescriptionOfRef(IOpenApiSchema schema) =>
        schema.OneOf?.Select(s => s.Description).FirstOrDefault(d => d is not null);
}

/// <summary>An example body for each operation that takes one (seed 001's walkthrough, in short).</summary>
internal static class RequestExamples
{
    public static string? For(string operationId) => operationId switch
    {
        "CreateSchedule" => """{"name": "nightly report", "schedule_type": "CRON", "cron_expression": "0 3 * * *", "time_zone": "Europe/Berlin", "target": {"url": "https://example.com/report", "method": "POST", "headers": {"Content-Type": "application/json"}, "body": "{\"full\": true}"}}""",
        "CreateSchedules" => """{"schedules": [{"schedule_type": "ONCE", "run_at": "+10m", "target_id": 1}, {"schedule_type": "INTERVAL", "interval_seconds": 300, "target_id": 1}]}""",
        "UpdateSchedule" => """{"interval_seconds": 600}""",
        "CreateTarget" => """{"name": "report", "url": "https://example.com/report", "method": "POST", "headers": {"Content-Type": "application/json"}, "body_template": "{\"full\": true}", "timeout_seconds": 30}""",
        "UpdateTarget" => """{"timeout_seconds": 60}""",
        _ => null,
    };
}
