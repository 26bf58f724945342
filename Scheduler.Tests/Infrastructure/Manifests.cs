using System.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Scheduler.Tests.Infrastructure;

/// <summary>The repository's deployment files (deploy/, Dockerfiles), read as JSON nodes, and kustomize renders of them.</summary>
public static class Manifests
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(RepositoryRoot, relative);

    /// <summary>Every document of a YAML file.</summary>
    public static IReadOnlyList<JsonObject> Load(string relative) => Parse(File.ReadAllText(PathOf(relative)));

    /// <summary>
    /// <c>kubectl kustomize</c> of a kustomization directory; null when kubectl is not installed (the caller says
    /// so and skips: kubectl is the only way to render exactly what <c>kubectl apply -k</c> would apply).
    /// </summary>
    public static async Task<IReadOnlyList<JsonObject>?> RenderAsync(string relative)
    {
        var info = new ProcessStartInfo("kubectl", ["kustomize", PathOf(relative)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return process.ExitCode == 0
                ? Parse(await output)
                : throw new InvalidOperationException($"kubectl kustomize {relative} failed ({process.ExitCode}): {await error}");
        }
    }

    private static List<JsonObject> Parse(string yaml)
    {
        var deserializer = new DeserializerBuilder().Build();
        var serializer = new SerializerBuilder().JsonCompatible().Build();
        var parser = new Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        var documents = new List<JsonObject>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (deserializer.Deserialize(parser) is { } document)
            {
                documents.Add(JsonNode.Parse(serializer.Serialize(document))!.AsObject());
            }
        }
        return documents;
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Scheduler.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No Scheduler.sln above {AppContext.BaseDirectory}.");
    }
}
