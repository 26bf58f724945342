using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using Scheduler.Api.Runs;
using Scheduler.Api.Validation;

namespace Scheduler.Api.Endpoints;

/// <summary>
/// Long-running endpoints (issue #23): a <c>"completion": "callback"</c> target completes its WAITING run, or
/// keeps it alive, with the token its call carried (<c>Authorization: Bearer &lt;token&gt;</c>, no API key).
/// </summary>
internal static class CompletionApi
{
    public static IEndpointRouteBuilder MapCompletionApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/runs").WithTags("Runs");
        // The token authorises the call, not an API key: targets hold no key.
        api.MapPost("/{id:long}/complete", Complete).AllowAnonymous().WithName("CompleteRun")
            .WithSummary("A callback target ends its WAITING attempt: success or failure, a message, an output. Authorization: Bearer <the attempt's X-Scheduler-Completion-Token>.");
        api.MapPost("/{id:long}/heartbeat", Heartbeat).AllowAnonymous().WithName("HeartbeatRun")
            .WithSummary("A callback target extends its WAITING attempt's deadline by completion_timeout_seconds. Authorization: Bearer <the attempt's token>.");
        return app;
    }

    public static async Task<Results<Ok<CompletionResponse>, ValidationProblem, ProblemHttpResult>> Complete(
        long id, CompletionRequest request, HttpRequest http, RunCompletion completions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(completions);
        var errors = new ValidationErrors();
        var (status, output) = RunCompletion.Validate(request, errors);
        var token = BearerToken(http);
        if (token is null)
        {
            return Refused(http, CompletionRefusal.Unauthorized);
        }
        if (errors.Any)
        {
            // The token before the body: a caller without this run's token learns nothing about the fields.
            return await completions.IsRunTokenAsync(id, token, cancellationToken)
                ? errors.ToProblem()
                : Refused(http, CompletionRefusal.Unauthorized);
        }
        var (response, refusal) = await completions.CompleteAsync(id, token, status, request.Message, output, cancellationToken);
        return response is not null ? TypedResults.Ok(response) : Refused(http, refusal!.Value);
    }

    public static async Task<Results<Ok<HeartbeatResponse>, ProblemHttpResult>> Heartbeat(
        long id, HttpRequest http, RunCompletion completions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(completions);
        var (response, refusal) = await completions.HeartbeatAsync(id, BearerToken(http), cancellationToken);
        return response is not null ? TypedResults.Ok(response) : Refused(http, refusal!.Value);
    }

    private static string? BearerToken(HttpRequest http) =>
        http.Headers.Authorization.ToString() is var value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? value["Bearer ".Length..].Trim() is { Length: > 0 } token ? token : null
            : null;

    private static ProblemHttpResult Refused(HttpRequest http, CompletionRefusal refusal)
    {
        if (refusal == CompletionRefusal.Unauthorized)
        {
            http.HttpContext.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                detail: "Give the token of the run's waiting attempt (its X-Scheduler-Completion-Token) as 'Authorization: Bearer <token>'.");
        }
        return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict",
            detail: "This token's attempt is not waiting any more: it was completed already, timed out, or a later attempt replaced it. Nothing was changed.");
    }
}
