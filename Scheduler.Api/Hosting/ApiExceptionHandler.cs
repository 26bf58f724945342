using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Scheduler.Api.Hosting;

/// <summary>
/// Every error leaves as RFC 9457 problem details: bad JSON names its field, an unreachable database
/// is a 503 with Retry-After, and nothing else becomes a 500 without being logged.
/// </summary>
internal sealed partial class ApiExceptionHandler(IProblemDetailsService problems, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails problem;
        switch (exception)
        {
            case BadHttpRequestException { InnerException: JsonException json }:
                var field = JsonPathToField(json.Path);
                problem = new HttpValidationProblemDetails(new Dictionary<string, string[]>
                {
                    [field] = [DescribeJsonError(json)],
                })
                {
                    Status = StatusCodes.Status400BadRequest,
                    Title = "The request body is not valid JSON for this endpoint.",
                };
                break;
            case BadHttpRequestException bad when BindFailure().Match(bad.Message) is { Success: true } bind:
                problem = new HttpValidationProblemDetails(new Dictionary<string, string[]>
                {
                    [JsonNamingPolicy.SnakeCaseLower.ConvertName(bind.Groups["name"].Value)] = [DescribeBindError(bind.Groups["type"].Value, bind.Groups["value"].Value)],
                })
                {
                    Status = StatusCodes.Status400BadRequest,
                    Title = "A parameter of the request is not valid.",
                };
                break;
            case BadHttpRequestException bad when bad.Message.Contains("no body was provided", StringComparison.Ordinal):
                problem = new ProblemDetails { Status = bad.StatusCode, Title = "The request could not be read.", Detail = "A JSON body is required." };
                break;
            case BadHttpRequestException bad:
                problem = new ProblemDetails { Status = bad.StatusCode, Title = "The request could not be read.", Detail = bad.Message };
                break;
            case DbUpdateException { InnerException: PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } unique }:
                problem = new ProblemDetails
                {
                    Status = StatusCodes.Status409Conflict,
                    Title = "The request conflicts with an existing record.",
                    Detail = unique.ConstraintName is null ? unique.MessageText : $"Duplicate value for {unique.ConstraintName}.",
                };
                break;
            case Security.ScheduleQuotaExceededException quota:
                problem = new ProblemDetails
                {
                    Status = StatusCodes.Status409Conflict,
                    Title = "Too many active schedules for this API key; nothing was saved.",
                    Detail = quota.Message,
                    Extensions = { ["active_schedules"] = quota.Active, ["max_active_schedules"] = quota.Max },
                };
                break;
            case var _ when IsDatabaseUnavailable(exception):
                Log.DatabaseUnavailable(logger, exception.Message);
                httpContext.Response.Headers.RetryAfter = "5";
                problem = new ProblemDetails
                {
                    Status = StatusCodes.Status503ServiceUnavailable,
                    Title = "The database is unavailable; nothing was changed. Retry later.",
                };
                break;
            default:
                Log.UnhandledException(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
                problem = new ProblemDetails { Status = StatusCodes.Status500InternalServerError, Title = "An unexpected error occurred." };
                break;
        }

        httpContext.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>
    /// The database (or the network to it) failed in a way worth retrying: a transient Npgsql error or a
    /// timeout, however EF Core wrapped it (its execution strategy reports "likely due to a transient failure").
    /// </summary>
    internal static bool IsDatabaseUnavailable(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is NpgsqlException { IsTransient: true } or TimeoutException or System.Net.Sockets.SocketException)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary><c>$.target.url</c> becomes <c>target.url</c>; the whole body is <c>body</c>.</summary>
    internal static string JsonPathToField(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    // Minimal APIs' message for a query or route value that does not parse as its parameter's type.
    [GeneratedRegex("""^Failed to bind parameter "(?<type>.+) (?<name>\w+)" from "(?<value>.*)"\.$""", RegexOptions.Singleline)]
    private static partial Regex BindFailure();

    private static string DescribeBindError(string type, string value)
    {
        var shown = value.Length > 40 ? value[..40] + "…" : value;
        return type switch
        {
            "int" or "Nullable<int>" => $"'{shown}' is not a whole number from {int.MinValue} to {int.MaxValue}.",
            "long" or "Nullable<long>" => $"'{shown}' is not a whole number from {long.MinValue} to {long.MaxValue}.",
            _ => $"'{shown}' is not a valid value here.",
        };
    }

    private static string DescribeJsonError(JsonException json)
    {
        // System.Text.Json's messages name .NET types; say what the field needs instead where we can.
        var message = json.Message;
        if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            return "is not a known field.";
        }
        if (message.Contains("could not be converted to", StringComparison.Ordinal))
        {
            return "has a value of the wrong type (the API reference at /docs lists each field's type).";
        }
        return "is not valid JSON here: " + message.Split(" Path:", 2)[0];
    }
}
