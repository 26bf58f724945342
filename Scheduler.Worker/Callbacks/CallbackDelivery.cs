using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hangfire;
using Scheduler.Core.Observability;
using Scheduler.Core.Security;

namespace Scheduler.Worker.Callbacks;

/// <summary>
/// POSTs a run's outcome as JSON with seed 000's Schedule Response fields (<c>process_status</c>, <c>data</c>,
/// <c>reference_id</c>, <c>request_id</c>, <c>ref_doctype</c>, <c>ref_docname</c>, <c>error</c>,
/// <c>traceback</c>, <c>tag</c>) and Scheduler's (<c>run_id</c>, <c>schedule_id</c>, <c>status</c>,
/// <c>status_code</c>, <c>attempts</c>, <c>due_at</c>, <c>completed_at</c>, …). A 2xx delivers it; anything
/// else is retried with backoff (its own durable Hangfire jobs) up to Execution:CallbackMaxAttempts.
/// </summary>
internal sealed class CallbackJob(
    NpgsqlDataSource database,
    IHttpClientFactory clients,
    CallbackEnqueuer enqueuer,
    TimeProvider time,
    IOptions<ExecutionOptions> options,
    SecretProtector secrets,
    SchedulerMetrics metrics,
    ILogger<CallbackJob> logger) : ICallbackJob
{
    public async Task DeliverAsync(long deliveryId, long runId, CancellationToken cancellationToken)
    {
        var delivery = await LoadAsync(deliveryId, cancellationToken);
        if (delivery is null || delivery.Status != DeliveryStatus.Pending)
        {
            return;
        }
        // In the run's trace: the callback's POST (HttpClient's span, the traceparent sent) is this span's child.
        using var span = SchedulerTracing.StartContinuing(SpanName, ActivityKind.Internal, delivery.TraceParent, link: null);
        span?.SetTag("scheduler.run_id", runId);
        span?.SetTag("scheduler.delivery_id", deliveryId);
        var settings = options.Value;
        var body = Encoding.UTF8.GetBytes(delivery.Payload.ToJsonString());
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", $"callback-{deliveryId}");
        request.Headers.TryAddWithoutValidation("X-Scheduler-Run-Id", runId.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("User-Agent", HttpCallExecutor.UserAgent);
        if (settings.SigningSecret is { Length: > 0 } secret)
        {
            request.Headers.TryAddWithoutValidation(RequestSigner.Header, RequestSigner.Sign(secret, time.GetUtcNow().ToUnixTimeSeconds(), body));
        }
        foreach (var (name, value) in delivery.Headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var started = time.GetTimestamp();
        int? statusCode = null;
        string? error;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(settings.CallbackTimeoutSeconds), time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
        {
            try
            {
                using var response = await clients.CreateClient(HttpCallExecutor.ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
                statusCode = (int)response.StatusCode;
                error = response.IsSuccessStatusCode ? null : $"HTTP {statusCode} {response.ReasonPhrase}".TrimEnd()
                    + (request.Options.TryGetValue(RedirectFollower.NotFollowed, out var notFollowed) ? " " + notFollowed : "");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException)
            {
                error = $"No response within {settings.CallbackTimeoutSeconds} s.";
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or Polly.CircuitBreaker.BrokenCircuitException)
            {
                error = ex.Message;
            }
        }
        var latency = time.GetElapsedTime(started).TotalMilliseconds;

        var attempt = delivery.AttemptCount + 1;
        DateTimeOffset? retryAt = null;
        var status = DeliveryStatus.Delivered;
        if (error is not null)
        {
            status = attempt < settings.CallbackMaxAttempts ? DeliveryStatus.Pending : DeliveryStatus.Failed;
            if (status == DeliveryStatus.Pending)
            {
                retryAt = time.GetUtcNow() + RetryPolicy.Delay(attempt, settings.CallbackInitialIntervalSeconds, settings.CallbackMaxIntervalSeconds, null, settings, Random.Shared);
            }
        }
        if (error is not null)
        {
            span?.SetStatus(ActivityStatusCode.Error, error);
        }
        await RecordAsync(deliveryId, runId, attempt, status, statusCode, error, latency, retryAt, cancellationToken);
        metrics.CallbackDelivery(status);
        Log.CallbackAttempted(logger, deliveryId, runId, attempt, LoggedUrl.Of(delivery.Url), WireName.Of(status), statusCode, error);
        if (retryAt is { } at)
        {
            await enqueuer.EnqueueAsync(deliveryId, CancellationToken.None, at);
        }
    }

    public const string SpanName = "run callback";

    private sealed record Delivery(DeliveryStatus Status, string Url, int AttemptCount, Dictionary<string, string> Headers, JsonObject Payload, string? TraceParent);

    private async Task<Delivery?> LoadAsync(long deliveryId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT d.status, d.url, d.attempt_count, s.callback_headers::text,
                   r.id, r.schedule_id, r.status, r.status_code, r.attempt_count, r.due_at, r.started_at, r.completed_at,
                   r.latency_ms, r.response_excerpt, r.error_type, r.error_message,
                   s.reference_id, s.ref_doctype, s.ref_docname, s.tag, s.name, s.job_name, r.trace_parent, r.output::text
            FROM scheduler.callback_deliveries d
            JOIN scheduler.runs r ON r.id = d.run_id
            JOIN scheduler.schedules s ON s.id = d.schedule_id
            WHERE d.id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = deliveryId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        var runStatus = reader.GetString(6);
        var success = runStatus == WireName.Of(RunStatus.Success);
        var excerpt = Text(13);
        var payload = new JsonObject
        {
            // Seed 000's Schedule Response.
            ["process_status"] = success ? "Success" : "Failed",
            ["data"] = Data(excerpt),
            ["reference_id"] = Text(16),
            ["request_id"] = reader.GetInt64(5),
            ["ref_doctype"] = Text(17),
            ["ref_docname"] = Text(18),
            ["error"] = success ? null : Text(15),
            // Seed 000's field; a named job's stack trace stays in the worker's log (error says what failed).
            ["traceback"] = null,
            ["tag"] = Text(19),
            // Scheduler's.
            ["run_id"] = reader.GetInt64(4),
            ["schedule_id"] = reader.GetInt64(5),
            ["schedule_name"] = Text(20),
            ["job_name"] = Text(21),
            ["status"] = runStatus,
            ["status_code"] = reader.IsDBNull(7) ? null : reader.GetInt32(7),
            ["error_type"] = Text(14),
            ["attempts"] = reader.GetInt32(8),
            ["due_at"] = reader.GetFieldValue<DateTimeOffset>(9),
            ["started_at"] = reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
            ["completed_at"] = reader.IsDBNull(11) ? null : reader.GetFieldValue<DateTimeOffset>(11),
            ["latency_ms"] = reader.IsDBNull(12) ? null : reader.GetDouble(12),
            // What a "completion": "callback" target completed its run with (POST /runs/{id}/complete).
            ["output"] = Text(23) is { } output ? JsonNode.Parse(output) : null,
        };
        return new Delivery(
            WireName.Parse<DeliveryStatus>(reader.GetString(0)),
            reader.GetString(1),
            reader.GetInt32(2),
            secrets.UnprotectHeaders(JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(3)) ?? []),
            payload,
            Text(22));
    }

    /// <summary>The response body as JSON when it is JSON (a named job's result, an API's answer), else as text.</summary>
    private static JsonNode? Data(string? excerpt)
    {
        if (excerpt is null)
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(excerpt);
        }
        catch (JsonException)
        {
            return excerpt;
        }
    }

    private static readonly string RecordSql = $"""
        UPDATE scheduler.callback_deliveries
        SET attempt_count = $2, status = $3, status_code = $4, error_message = $5, latency_ms = $6, next_attempt_at = $7,
            last_attempt_at = now(), delivered_at = CASE WHEN $3 = {Sql.Literal(DeliveryStatus.Delivered)} THEN now() END, updated_at = now()
        WHERE id = $1
        """;

    private async Task RecordAsync(long deliveryId, long runId, int attempt, DeliveryStatus status, int? statusCode, string? error,
        double latency, DateTimeOffset? retryAt, CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        var update = new NpgsqlBatchCommand(RecordSql);
        foreach (var value in new object?[] { deliveryId, attempt, WireName.Of(status), statusCode, error, latency, retryAt })
        {
            update.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }
        batch.BatchCommands.Add(update);
        var run = new NpgsqlBatchCommand("UPDATE scheduler.runs SET callback_status = $2 WHERE id = $1");
        run.Parameters.Add(new NpgsqlParameter<long> { TypedValue = runId });
        run.Parameters.Add(new NpgsqlParameter<string> { TypedValue = WireName.Of(status) });
        batch.BatchCommands.Add(run);
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }
}
