using Scheduler.Worker.Hosting;

return await ProcessHost.RunAsync("worker", async () =>
{
    var builder = Host.CreateApplicationBuilder(args);
    builder.AddSchedulerWorker();

    using var host = builder.Build();
    await host.RunAsync();
    return 0;
});
