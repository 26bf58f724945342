using Hangfire.Dashboard;

namespace Scheduler.Api.Dashboard;

/// <summary>What an action did: a message for the page it returns to, and whether it worked.</summary>
internal sealed record ActionOutcome(bool Succeeded, string Message, string? Back = null);

/// <summary>
/// Serves a button of our pages: a POST (Hangfire's dashboard has already checked its antiforgery token), refused
/// with 403 for a read-only session whatever the page showed, then back to the page with what happened.
/// </summary>
internal sealed class ActionDispatcher(Func<DashboardContext, Task<ActionOutcome>> act) : IDashboardDispatcher
{
    public const string BackField = "back";

    public async Task Dispatch(DashboardContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var http = context.GetHttpContext();
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        if (context.IsReadOnly)
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync("This dashboard session is read-only: sign in with an admin key to change anything.");
            return;
        }
        var outcome = await act(context);
        var logger = http.RequestServices.GetRequiredService<ILogger<ActionDispatcher>>();
        Log.DashboardAction(logger, http.User.Identity?.Name, context.Request.Method, context.Request.Path, outcome.Message);
        var back = (await context.Request.GetFormValuesAsync(BackField)).FirstOrDefault();
        var target = outcome.Back is { } own ? context.Request.PathBase + own : IsOwnPage(context, back) ? back! : context.Request.PathBase;
        var separator = target.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        http.Response.StatusCode = StatusCodes.Status303SeeOther;
        http.Response.Headers.Location = $"{target}{separator}{(outcome.Succeeded ? "done" : "error")}={Uri.EscapeDataString(outcome.Message)}";
    }

    /// <summary>Only back to a page of this dashboard: never an open redirect.</summary>
    private static bool IsOwnPage(DashboardContext context, string? back) =>
        back is { Length: > 0 } && back.StartsWith(context.Request.PathBase + "/", StringComparison.Ordinal) && !back.StartsWith("//", StringComparison.Ordinal)
        && !back.Contains('\\', StringComparison.Ordinal);
}
