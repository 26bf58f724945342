using System.Text.Json;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// The committed OpenAPI document (docs/openapi.json, which CI lints and generates a client from) is the one
/// the API serves, and the seed adapters are described in documents of their own, not in v1.
/// </summary>
public sealed class OpenApiDocumentTests : SystemTestBase
{
    /// <summary>Set to 1 to write the served document to docs/openapi.json instead of comparing.</summary>
    public const string UpdateVariable = "SCHEDULER_UPDATE_OPENAPI";

    private const string Regenerate = $"regenerate it with: {UpdateVariable}=1 dotnet test --filter FullyQualifiedName~OpenApiDocumentTests";

    protected override bool StartsWorker => false;

    [Test]
    public async Task The_served_document_is_the_committed_docs_openapi_json()
    {
        using var anonymous = CreateHttpClient(Api.BaseAddress!, key: null);
        var served = JsonNode.Parse(await anonymous.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!;
        var text = served.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        var path = Manifests.PathOf("docs/openapi.json");
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            await File.WriteAllTextAsync(path, text);
        }
        Assert.That(File.Exists(path), Is.True, $"docs/openapi.json is missing; {Regenerate}");
        var committed = (await File.ReadAllTextAsync(path)).ReplaceLineEndings("\n");
        Assert.That(committed == text, Is.True,
            $"docs/openapi.json differs from the document the API serves at /openapi/v1.json; {Regenerate} (and commit it). "
            + FirstDifference(text, committed));
    }

    [Test]
    public async Task The_document_says_what_the_api_takes_and_answers()
    {
        using var anonymous = CreateHttpClient(Api.BaseAddress!, key: null);
        var document = JsonNode.Parse(await anonymous.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!;
        var schemas = document["components"]!["schemas"]!;
        // A validating proxy refused every valid POST while every field was required.
        foreach (var name in new[] { "ScheduleRequest", "TargetRequest", "RetryRequest" })
        {
            Assert.That(schemas[name]!["required"]?.AsArray() ?? [], Is.Empty, name);
        }
        Assert.That(schemas["RunResponse"]!["required"]!.AsArray().Select(r => r!.GetValue<string>()), Does.Not.Contain("attempts"), "only GET /runs/{id} has attempts");
        // Without a cursor the lists answer a JSON array; with one, a page.
        foreach (var path in new[] { "/runs", "/schedules", "/targets" })
        {
            var ok = document["paths"]![path]!["get"]!["responses"]!["200"]!;
            var shapes = ok["content"]!["application/json"]!["schema"]!["oneOf"]!.AsArray();
            Assert.That(shapes.Select(s => s!["type"]?.GetValue<string>() ?? s["$ref"]!.GetValue<string>()), Is.EqualTo(new[] { "array", $"#/components/schemas/PageOf{shapes[0]!["items"]!["$ref"]!.GetValue<string>().Split('/')[^1]}" }), path);
            Assert.That(ok["headers"]!["X-Next-Cursor"], Is.Not.Null, path);
        }
        Assert.That(document["components"]!["securitySchemes"]!.AsObject().Select(s => s.Key), Is.EquivalentTo(new[] { "ApiKey", "Bearer", "CompletionToken" }));
        // A callback target completes its run with its attempt's token, not an API key.
        foreach (var action in new[] { "complete", "heartbeat" })
        {
            var operation = document["paths"]![$"/runs/{{id}}/{action}"]!["post"]!;
            Assert.That(operation["security"]!.AsArray().Single()!.AsObject().Select(s => s.Key), Is.EqualTo(new[] { "CompletionToken" }), action);
            Assert.That(operation["responses"]!.AsObject().Select(r => r.Key), Is.SupersetOf(new[] { "200", "401", "409" }), action);
        }
        Assert.That(schemas["ScheduleRequest"]!["properties"]!["run_at"]!["oneOf"]!.AsArray().Select(s => s!["type"]!.GetValue<string>()), Is.EqualTo(new[] { "string", "integer", "null" }));
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject().Where(_ => !path.StartsWith("/health", StringComparison.Ordinal)))
            {
                var responses = operation!["responses"]!.AsObject();
                Assert.That(responses.Select(r => r.Key), Is.SupersetOf(new[] { "401", "429", "503" }), $"{method} {path}");
                Assert.That(responses["401"]!["content"]!["application/problem+json"], Is.Not.Null, $"{method} {path}");
                Assert.That(responses.Count(r => r.Key.StartsWith('2')), Is.EqualTo(1), $"{method} {path}: one success answer");
            }
        }
    }

    [Test]
    public async Task Descriptions_are_prose_without_source_line_breaks_or_code_signatures()
    {
        using var anonymous = CreateHttpClient(Api.BaseAddress!, key: null);
        var document = JsonNode.Parse(await anonymous.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!;
        var descriptions = Descriptions(document, "").ToList();
        Assert.That(descriptions, Has.Count.GreaterThan(50), "the document describes its schemas and operations");
        // A doc comment's wrapping showed as line breaks, and a <see cref> to a property as its C# signature.
        Assert.That(descriptions.Where(d => System.Text.RegularExpressions.Regex.IsMatch(d.Text, @"(?<!\n)\n(?!\n)")).Select(d => d.Path), Is.Empty);
        Assert.That(descriptions.Where(d => d.Text.Contains("IReadOnlyList", StringComparison.Ordinal) || d.Text.Contains("&lt;", StringComparison.Ordinal)).Select(d => d.Path), Is.Empty);
    }

    private static IEnumerable<(string Path, string Text)> Descriptions(JsonNode? node, string path) => node switch
    {
        JsonObject o => o.SelectMany(p => p.Key == "description" && p.Value is JsonValue v ? [($"{path}/description", v.GetValue<string>())] : Descriptions(p.Value, $"{path}/{p.Key}")),
        JsonArray a => a.SelectMany((item, i) => Descriptions(item, $"{path}/{i}")),
        _ => [],
    };

    [Test]
    public async Task The_adapters_have_documents_of_their_own()
    {
        using var anonymous = CreateHttpClient(Api.BaseAddress!, key: null);
        var native = JsonNode.Parse(await anonymous.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!;
        Assert.That(native["paths"]!.AsObject().Select(p => p.Key), Has.None.StartsWith("/callme").And.None.StartsWith("/celery")
            .And.None.StartsWith("/frappe").And.None.StartsWith("/api/"));
        foreach (var (name, path) in new[] { ("callme", "/callme/task"), ("tasks", "/api/tasks.create"), ("celery", "/celery/tasks"), ("frappe", "/frappe/add_request") })
        {
            var document = JsonNode.Parse(await anonymous.GetStringAsync(new Uri($"/openapi/compat-{name}.json", UriKind.Relative)))!;
            var paths = document["paths"]!.AsObject().Select(p => p.Key).ToList();
            Assert.That(paths, Does.Contain(path), name);
            // Paths that differ only in a parameter's name are one path to OpenAPI (callme's /task/{name} and /task/{key}).
            Assert.That(paths.Select(p => System.Text.RegularExpressions.Regex.Replace(p, "{[^}]+}", "{}")), Is.Unique, name);
            Assert.That(document["components"]!["securitySchemes"]!.AsObject().Select(s => s.Key), Is.EquivalentTo(new[] { "ApiKey", "Bearer" }), name);
        }
    }

    /// <summary>
    /// Stoplight Prism, a validating proxy, in front of the API with docs/openapi.json: it must pass valid
    /// requests and find nothing wrong in the answers (it refused every valid POST while the document marked
    /// every field required, and flagged GET /runs's list where the document promised a page).
    /// .ci/run installs it and names it in SCHEDULER_PRISM.
    /// </summary>
    [Test]
    public async Task A_validating_proxy_passes_valid_requests_and_their_answers()
    {
        var prism = Environment.GetEnvironmentVariable("SCHEDULER_PRISM");
        if (string.IsNullOrEmpty(prism) || !File.Exists(prism))
        {
            Assert.Ignore("SCHEDULER_PRISM does not name Stoplight Prism's 'prism' (npm @stoplight/prism-cli); .ci/run installs it and sets it.");
        }
        var port = FreePorts.One();
        var output = new System.Text.StringBuilder();
        var info = new System.Diagnostics.ProcessStartInfo(prism,
            ["proxy", Manifests.PathOf("docs/openapi.json"), Api.BaseAddress!.ToString().TrimEnd('/'), "--errors", "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = System.Diagnostics.Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var proxy = CreateHttpClient(new Uri($"http://127.0.0.1:{port}"));
            await Eventually.UntilAsync(async () =>
            {
                try
                {
                    using var live = await proxy.GetAsync(new Uri("/health/live", UriKind.Relative));
                    return live.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(90), "Prism to listen");
            var target = await PassAsync(proxy, HttpMethod.Post, "/targets", """{"name": "via-prism", "url": "https://example.com/hook", "method": "POST"}""");
            var targetId = target["id"]!.GetValue<long>();
            var schedule = await PassAsync(proxy, HttpMethod.Post, "/schedules", $$"""{"schedule_type": "IMMEDIATE", "target_id": {{targetId}}}""");
            await PassAsync(proxy, HttpMethod.Post, "/schedules", """{"schedule_type": "ONCE", "run_at": 1999999999, "target": {"url": "https://example.com/once"}, "expected_http_status": [200, 204]}""");
            await PassAsync(proxy, HttpMethod.Post, "/schedules", """{"schedule_type": "CRON", "cron_expression": "0 3 * * *", "time_zone": "Europe/Berlin", "target": {"url": "https://example.com/cron"}}""");
            await PassAsync(proxy, HttpMethod.Get, "/runs");
            await PassAsync(proxy, HttpMethod.Get, "/runs?cursor=");
            await PassAsync(proxy, HttpMethod.Get, "/schedules?limit=1");
            await PassAsync(proxy, HttpMethod.Get, "/targets");
            await PassAsync(proxy, HttpMethod.Get, $"/schedules/{schedule["id"]}");
        }
        catch (Exception) when (Dump(output))
        {
            throw;
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static bool Dump(System.Text.StringBuilder output)
    {
        lock (output)
        {
            TestContext.Out.WriteLine($"----- prism -----{Environment.NewLine}{output}");
        }
        return false;
    }

    private static async Task<JsonNode> PassAsync(HttpClient proxy, HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }
        using var response = await proxy.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var violations = response.Headers.TryGetValues("sl-violations", out var values) ? string.Join(" ", values) : null;
        Assert.That((int)response.StatusCode, Is.InRange(200, 299), $"{method} {path} through Prism: {text}");
        Assert.That(violations, Is.Null, $"{method} {path}: Prism found the answer does not match docs/openapi.json");
        return JsonNode.Parse(text)!;
    }

    private static string FirstDifference(string served, string committed)
    {
        var (a, b) = (served.Split('\n'), committed.Split('\n'));
        var line = Enumerable.Range(0, Math.Min(a.Length, b.Length)).FirstOrDefault(i => a[i] != b[i], Math.Min(a.Length, b.Length));
        return $"First difference at line {line + 1}: served '{(line < a.Length ? a[line].Trim() : "(end)")}', committed '{(line < b.Length ? b[line].Trim() : "(end)")}'.";
    }
}
