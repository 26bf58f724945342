using System.Reflection;

namespace Scheduler.Tests.Infrastructure;

/// <summary>Where the build put what the tests start: the paths Scheduler.Tests.csproj writes into the assembly's metadata.</summary>
public static class BuildOutput
{
    public static string ApiDirectory => Metadata("SchedulerApiDirectory");

    public static string WorkerDirectory => Metadata("SchedulerWorkerDirectory");

    public static string CliDirectory => Metadata("SchedulerCliDirectory");

    public static string RepositoryRoot => Metadata("RepositoryRoot");

    /// <summary>Debug or Release: the configuration these tests were built in.</summary>
    public static string Configuration => Metadata("BuildConfiguration");

    private static string Metadata(string key) =>
        typeof(BuildOutput).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
