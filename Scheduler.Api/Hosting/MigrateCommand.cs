using Scheduler.Core.Hosting;
using Scheduler.Core.Security;

namespace Scheduler.Api.Hosting;

/// <summary>
/// <c>dotnet Scheduler.Api.dll migrate</c>: creates the database if needed, applies the <c>scheduler</c>
/// migrations and installs Hangfire's schema, then exits. The one place the schema changes.
/// </summary>
internal static class MigrateCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddSchedulerCore(builder.Configuration, "migrate");
        using var host = builder.Build();
        // Validate options the way a running host would, so a bad setting fails here with its name.
        host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DatabaseOptions>>();
        var startup = host.Services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>();
        startup.Validate();
        await host.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);
        // Create the Data Protection key ring now, once, so processes starting together share one key.
        host.Services.GetRequiredService<SecretProtector>().Protect("key ring");
        return 0;
    }
}
