using System.Globalization;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using Scheduler.Worker.Runs;

namespace Scheduler.Worker.Execution;

/// <summary>
/// Makes one HTTP attempt of a run and classifies what happened. Never throws for anything the target
/// or the network did; throws <see cref="OperationCanceledException"/> only when the caller cancels
/// (shutdown, or the lease was lost).
/// </summary>
internal sealed class HttpCallExecutor(IHttpClientFactory clients, TimeProvider time, IOptions<ExecutionOptions> options)
{
    public const string ClientName = "targets";

    public static readonly string UserAgent =
        $"Scheduler/{typeof(HttpCallExecutor).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0"}";

    /// <param name="plan">The run.</param>
    /// <param name="attemptNumber">The attempt made.</param>
    /// <param name="completion">For a <c>"completion": "callback"</c> target: where and with what token the target completes the run.</param>
    /// <param name="cancellationToken">Shutdown, or the lease lost.</param>
    public async Task<CallOutcome> CallAsync(RunPlan plan, int attemptNumber, CompletionTicket? completion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var timeout = TimeSpan.FromSeconds(plan.TimeoutSeconds);
        using var timeoutSource = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        using var request = BuildRequest(plan, attemptNumber, completion);
        var client = clients.CreateClient(ClientName);

        var startedAt = time.GetUtcNow();
        var started = time.GetTimestamp();
        double Elapsed() => Math.Round(time.GetElapsedTime(started).TotalMilliseconds, 3);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var excerptLimit = plan.NoResponse ? 0 : options.Value.ResponseExcerptBytes;
            var (size, excerpt) = await ResponseCapture.ReadAsync(response.Content, excerptLimit, linked.Token);
            var latency = Elapsed();
            var code = (int)response.StatusCode;
            var (status, errorType, message) = CallOutcome.ClassifyStatusCode(code, plan.ExpectedHttpStatus, response.ReasonPhrase);
            if (message is not null && request.Options.TryGetValue(RedirectFollower.NotFollowed, out var notFollowed))
            {
                message += " " + notFollowed;
            }
            var retryAfter = response.Headers.RetryAfter is { } header
                ? RetryPolicy.RetryAfter(header, time.GetUtcNow())
                : RetryPolicy.RetryAfter(response.Headers.TryGetValues("Retry-After", out var raw) ? raw.FirstOrDefault() : null, time.GetUtcNow());
            return new CallOutcome(status, startedAt, time.GetUtcNow(), latency, code, size, excerpt, errorType, message, RetryAfter: retryAfter);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested)
        {
            return new CallOutcome(RunStatus.Timeout, startedAt, time.GetUtcNow(), Elapsed(),
                ErrorType: ErrorType.Timeout,
                ErrorMessage: $"No complete response within {plan.TimeoutSeconds.ToString(CultureInfo.InvariantCulture)} s.");
        }
        catch (Polly.CircuitBreaker.BrokenCircuitException ex)
        {
            // Too many recent failures on this host: the call is not made, and the run retries later.
            return new CallOutcome(RunStatus.ConnectionError, startedAt, time.GetUtcNow(), Elapsed(),
                ErrorType: ErrorType.Connection, ErrorMessage: $"Not called: the circuit for {request.RequestUri?.Authority} is open after repeated failures ({ex.Message}).");
        }
        catch (HttpRequestException ex)
        {
            var (status, errorType) = CallOutcome.ClassifyTransport(ex);
            return new CallOutcome(status, startedAt, time.GetUtcNow(), Elapsed(), ErrorType: errorType, ErrorMessage: Describe(ex));
        }
        catch (IOException ex)
        {
            // The connection broke while the body was being read.
            return new CallOutcome(RunStatus.ConnectionError, startedAt, time.GetUtcNow(), Elapsed(),
                ErrorType: ErrorType.Connection, ErrorMessage: Describe(ex));
        }
    }

    private HttpRequestMessage BuildRequest(RunPlan plan, int attemptNumber, CompletionTicket? completion)
    {
        var request = new HttpRequestMessage(new HttpMethod(plan.Method), plan.Url);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", plan.IdempotencyKey);
        request.Headers.TryAddWithoutValidation("X-Scheduler-Run-Id", plan.RunId.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("X-Scheduler-Attempt", attemptNumber.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        if (completion is not null)
        {
            request.Headers.TryAddWithoutValidation(CompletionTicket.UrlHeader, completion.Url.ToString());
            request.Headers.TryAddWithoutValidation(CompletionTicket.TokenHeader, completion.Token);
        }

        var body = plan.Body is null ? null : BodyTemplate.Render(plan.Body, plan, attemptNumber);
        if (body is not null)
        {
            var trimmed = body.TrimStart();
            var mediaType = trimmed.StartsWith('{') || trimmed.StartsWith('[') ? "application/json" : "text/plain";
            request.Content = new StringContent(body, Encoding.UTF8, mediaType);
        }
        if ((plan.SigningSecret ?? options.Value.SigningSecret) is { Length: > 0 } secret)
        {
            request.Headers.TryAddWithoutValidation(RequestSigner.Header,
                RequestSigner.Sign(secret, time.GetUtcNow().ToUnixTimeSeconds(), Encoding.UTF8.GetBytes(body ?? "")));
        }

        // The target's own headers win over ours (a target may set its own User-Agent, as seed 001's example does).
        foreach (var (name, value) in plan.Headers)
        {
            if (ContentHeaders.Contains(name))
            {
                ApplyContentHeader(request.Content, name, value);
                continue;
            }
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }
        return request;
    }

    // Headers that belong to the body; HttpClient keeps them on the content, not the request.
    private static readonly HashSet<string> ContentHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Content-Type", "Content-Length", "Content-Encoding", "Content-Language", "Content-Location",
        "Content-MD5", "Content-Range", "Content-Disposition", "Expires", "Last-Modified", "Allow",
    };

    private static void ApplyContentHeader(HttpContent? content, string name, string value)
    {
        // Without a body there is nothing to describe; the length is always computed, never taken.
        if (content is null || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }
        content.Headers.Remove(name);
        if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) && MediaTypeHeaderValue.TryParse(value, out var contentType))
        {
            content.Headers.ContentType = contentType;
        }
        else
        {
            content.Headers.TryAddWithoutValidation(name, value);
        }
    }

    private static string Describe(Exception exception)
    {
        var messages = new List<string>();
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (!messages.Contains(e.Message))
            {
                messages.Add(e.Message);
            }
        }
        return string.Join(" ← ", messages);
    }
}
