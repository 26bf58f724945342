using System.Text.Json;
using System.Text.Json.Serialization;

namespace Scheduler.Api.Security;

/// <summary>
/// <c>Auth:KeysFile</c>: a JSON array of <c>{"name", "key", "role"}</c>. The file is read rather than
/// watched, so a Kubernetes Secret mounted as a volume (updated by swapping a symlink, which file watchers
/// miss) is picked up too.
/// </summary>
internal static class ApiKeysFile
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The file's keys, checked like configured keys; <see cref="InvalidDataException"/> says what is wrong.</summary>
    public static IReadOnlyList<ApiKeyOptions> Read(string path)
    {
        List<ApiKeyOptions?>? keys;
        try
        {
            keys = JsonSerializer.Deserialize<List<ApiKeyOptions?>>(File.ReadAllText(path), Json);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new InvalidDataException($"Auth:KeysFile '{path}' cannot be read: {e.Message}", e);
        }
        if (keys is null || keys.Any(k => k is null))
        {
            throw new InvalidDataException($"Auth:KeysFile '{path}' must be a JSON array of {{\"name\", \"key\", \"role\"}} objects.");
        }
        var valid = keys.ConvertAll(k => k!);
        var errors = AuthOptionsValidator.KeyErrors(valid, "Auth:KeysFile").ToList();
        return errors.Count == 0 ? valid : throw new InvalidDataException($"Auth:KeysFile '{path}': {string.Join(" ", errors)}");
    }
}

/// <summary>Reads <c>Auth:KeysFile</c> again every <c>Auth:KeysFileRefresh</c>.</summary>
internal sealed class ApiKeysFileRefresher(ApiKeyStore keys, IOptions<AuthOptions> options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (string.IsNullOrWhiteSpace(options.Value.KeysFile))
        {
            return;
        }
        using var timer = new PeriodicTimer(options.Value.KeysFileRefresh, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            keys.Refresh();
        }
    }
}
