namespace Scheduler.Worker.Execution;

/// <summary>What one HTTP attempt came to, classified as seed 001 does and with the details kept.</summary>
internal sealed record CallOutcome(
    RunStatus Status,
    DateTimeOffset StartedAt,
    DateTimeOffset CompletedAt,
    double LatencyMs,
    int? StatusCode = null,
    long? ResponseSizeBytes = null,
    string? ResponseExcerpt = null,
    ErrorType? ErrorType = null,
    string? ErrorMessage = null,
    TimeSpan? RetryAfter = null)
{
    /// <summary>Failures worth another attempt: the network, timeouts, and the status codes configured as retryable.</summary>
    public bool IsRetryable(Scheduler.Core.Hosting.ExecutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Status switch
        {
            RunStatus.Success => false,
            RunStatus.Timeout or RunStatus.DnsError or RunStatus.ConnectionError => ErrorType != Core.Model.ErrorType.Blocked,
            // The target accepted the call (2xx) and reported failure later: retried like a failed job.
            _ when ErrorType == Core.Model.ErrorType.CompletionFailed => true,
            _ when StatusCode is { } code => options.RetriesStatus(code),
            _ => ErrorType == Core.Model.ErrorType.JobFailed,
        };
    }

    public AttemptStatus AttemptStatus => Status switch
    {
        RunStatus.Success => AttemptStatus.Success,
        RunStatus.Timeout => AttemptStatus.Timeout,
        RunStatus.DnsError => AttemptStatus.DnsError,
        RunStatus.ConnectionError => AttemptStatus.ConnectionError,
        _ => AttemptStatus.Failed,
    };

    /// <summary>Decides success from the status code: any 2xx, or one of <paramref name="expected"/> when given (seed 002).</summary>
    public static (RunStatus Status, ErrorType? ErrorType, string? Message) ClassifyStatusCode(int statusCode, IReadOnlyCollection<int> expected, string? reason)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var success = expected.Count == 0 ? statusCode is >= 200 and < 300 : expected.Contains(statusCode);
        if (success)
        {
            return (RunStatus.Success, null, null);
        }
        var errorType = statusCode switch
        {
            >= 400 and < 500 => Core.Model.ErrorType.Http4xx,
            >= 500 and < 600 => Core.Model.ErrorType.Http5xx,
            _ => Core.Model.ErrorType.UnexpectedStatus,
        };
        var expectation = expected.Count == 0 ? "expected a 2xx status" : $"expected {string.Join(" or ", expected)}";
        return (RunStatus.Failed, errorType, $"HTTP {statusCode} {reason}".TrimEnd() + $" ({expectation}).");
    }

    /// <summary>Maps a transport failure to seed 001's classes: DNS_ERROR, CONNECTION_ERROR (TLS included).</summary>
    public static (RunStatus Status, ErrorType ErrorType) ClassifyTransport(HttpRequestException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.HttpRequestError switch
        {
            // Refused by the SSRF guard: a configuration matter, not retried.
            _ when exception.InnerException is BlockedAddressException => (RunStatus.ConnectionError, Core.Model.ErrorType.Blocked),
            HttpRequestError.NameResolutionError => (RunStatus.DnsError, Core.Model.ErrorType.Dns),
            HttpRequestError.SecureConnectionError => (RunStatus.ConnectionError, Core.Model.ErrorType.Tls),
            _ when exception.InnerException is System.Net.Sockets.SocketException
            {
                SocketErrorCode: System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.TryAgain or System.Net.Sockets.SocketError.NoData,
            } => (RunStatus.DnsError, Core.Model.ErrorType.Dns),
            _ => (RunStatus.ConnectionError, Core.Model.ErrorType.Connection),
        };
    }
}
