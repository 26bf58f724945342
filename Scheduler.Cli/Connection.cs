namespace Scheduler.Cli;

/// <summary>
/// Where the API is and the key to use: <c>SCHEDULER_URL</c> (default <c>http://127.0.0.1:8080</c>, where
/// <c>./run</c> serves) and <c>SCHEDULER_API_KEY</c> (default: the key <c>./run</c> keeps in its data directory,
/// <c>$SCHEDULER_DATA_DIR/api-key</c>, or <c>.data/api-key</c> in this directory or the nearest parent that has one).
/// </summary>
internal sealed record Connection(Uri Url, string? ApiKey)
{
    public const string DefaultUrl = "http://127.0.0.1:8080";

    public static Connection FromEnvironment(Func<string, string?> environment, string currentDirectory)
    {
        var url = environment("SCHEDULER_URL") is { Length: > 0 } given ? given : DefaultUrl;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException($"SCHEDULER_URL must be an absolute http or https URL (got '{url}').");
        }
        return new Connection(uri, environment("SCHEDULER_API_KEY") is { Length: > 0 } key ? key : KeyOfRun(environment, currentDirectory));
    }

    /// <summary>The URL in use, for messages.</summary>
    public static string Describe() => Environment.GetEnvironmentVariable("SCHEDULER_URL") is { Length: > 0 } url ? url : DefaultUrl;

    private static string? KeyOfRun(Func<string, string?> environment, string currentDirectory)
    {
        if (environment("SCHEDULER_DATA_DIR") is { Length: > 0 } dataDirectory)
        {
            return Read(Path.Combine(dataDirectory, "api-key"));
        }
        for (var directory = new DirectoryInfo(currentDirectory); directory is not null; directory = directory.Parent)
        {
            if (Read(Path.Combine(directory.FullName, ".data", "api-key")) is { } key)
            {
                return key;
            }
        }
        return null;
    }

    private static string? Read(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : null;
}

/// <summary>A mistake the tool reports as one line and exit code 1 (no stack trace).</summary>
internal sealed class CliException(string message) : Exception(message);
