using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Scheduler.Core.Hosting;

namespace Scheduler.Core.Persistence;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without a running host or database.</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<SchedulerDbContext>
{
    public SchedulerDbContext CreateDbContext(string[] args)
    {
        var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__Scheduler")
                               ?? "Host=127.0.0.1;Port=5432;Username=postgres;Database=scheduler";
        var builder = new DbContextOptionsBuilder<SchedulerDbContext>();
        SchedulerDbContextOptions.Configure(builder, NpgsqlDataSource.Create(connectionString));
        return new SchedulerDbContext(builder.Options);
    }
}
