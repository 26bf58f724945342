using Scheduler.Api.Compat;
using Scheduler.Api.Endpoints;
using Scheduler.Api.Hosting;
using Scheduler.Core.Hosting;

return await ProcessHost.RunAsync("api", async () =>
{
    if (args is ["migrate", ..])
    {
        return await MigrateCommand.RunAsync(args[1..]);
    }

    var builder = WebApplication.CreateBuilder(args);
    builder.AddSchedulerApi();

    var app = builder.Build();
    app.UseSchedulerApi();
    app.MapHealthApi();
    app.MapTargetsApi();
    app.MapSchedulesApi();
    app.MapRunsApi();
    app.MapCompletionApi();
    app.MapMetricsApi();
    app.MapPrometheusMetrics();
    app.MapJobsApi();
    app.MapReconcileApi();
    app.MapCompat();
    app.MapSchedulerDocs();
    app.MapSchedulerDashboard();
    app.RefuseCompatRouteConflicts();

    await app.RunAsync();
    return 0;
});
