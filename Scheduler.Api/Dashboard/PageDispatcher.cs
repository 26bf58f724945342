using Hangfire.Dashboard;

namespace Scheduler.Api.Dashboard;

/// <summary>
/// Serves one of our pages: loads what it shows asynchronously, then has Hangfire render it. Only Hangfire's
/// own page dispatcher can give a <see cref="RazorPage"/> its context (the layout needs it), so the loaded
/// page is handed to one made by <c>AddRazorPage</c>.
/// </summary>
internal sealed class PageDispatcher(Func<DashboardContext, Task<RazorPage?>> load) : IDashboardDispatcher
{
    private const string Slot = "/page";

    public async Task Dispatch(DashboardContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        var page = await load(context);
        if (page is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            page = new NotFoundPage();
        }
        var renderer = new Hangfire.Dashboard.RouteCollection();
        renderer.AddRazorPage(Slot, _ => page);
        await renderer.FindDispatcher(Slot).Item1.Dispatch(context);
    }
}

/// <summary>What a page shows for an id that does not exist.</summary>
internal sealed class NotFoundPage() : DashboardPage("Not found")
{
    protected override void Body() => WriteLiteral("<p>There is nothing here (it may have been deleted or never existed).</p>");
}
