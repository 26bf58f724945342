namespace Scheduler.Api.Security;

/// <summary>Who may call the API and open the dashboard (section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>
    /// The accepted keys. At least one key is required, here or in <see cref="KeysFile"/>: the API serves
    /// nothing without a key.
    /// </summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>
    /// A JSON file with more keys (an array of <c>{name, key, role}</c>), read again every
    /// <see cref="KeysFileRefresh"/>: keys added, removed or given another role there take effect
    /// without a restart (a mounted Kubernetes Secret, say).
    /// </summary>
    public string? KeysFile { get; set; }

    /// <summary>How often <see cref="KeysFile"/> is read again.</summary>
    public TimeSpan KeysFileRefresh { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an idle dashboard sign-in lasts (sliding).</summary>
    public TimeSpan DashboardSession { get; set; } = TimeSpan.FromHours(8);

    /// <summary>How long a dashboard sign-in lasts at most, however busy.</summary>
    public TimeSpan DashboardSessionLifetime { get; set; } = TimeSpan.FromHours(12);
}

/// <summary>One API key: a name for logs, the secret itself, and a role.</summary>
public sealed class ApiKeyOptions
{
    public string Name { get; set; } = "";

    public string Key { get; set; } = "";

    /// <summary><c>admin</c> (read and write) or <c>read_only</c>.</summary>
    public string Role { get; set; } = ApiRoles.ReadOnly;
}

public static class ApiRoles
{
    public const string Admin = "admin";
    public const string ReadOnly = "read_only";
}

internal sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public const int MinKeyLength = 16;

    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var errors = new List<string>();
        var keys = new List<ApiKeyOptions>(options.ApiKeys);
        if (!string.IsNullOrWhiteSpace(options.KeysFile))
        {
            try
            {
                keys.AddRange(ApiKeysFile.Read(options.KeysFile));
            }
            catch (InvalidDataException e)
            {
                errors.Add(e.Message);
            }
        }
        if (keys.Count == 0 && errors.Count == 0)
        {
            errors.Add("Auth:ApiKeys is empty: configure at least one key (Auth__ApiKeys__0__Key, Auth__ApiKeys__0__Role=admin) or Auth:KeysFile; `./run` generates one.");
        }
        errors.AddRange(KeyErrors(options.ApiKeys, "Auth:ApiKeys"));
        if (keys.GroupBy(k => k.Key, StringComparer.Ordinal).Any(g => g.Key.Length > 0 && g.Count() > 1))
        {
            errors.Add("Auth:ApiKeys: the same key is configured twice.");
        }
        Between(errors, "Auth:KeysFileRefresh", options.KeysFileRefresh, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        Between(errors, "Auth:DashboardSession", options.DashboardSession, TimeSpan.FromMinutes(1), TimeSpan.FromDays(30));
        Between(errors, "Auth:DashboardSessionLifetime", options.DashboardSessionLifetime, TimeSpan.FromSeconds(1), TimeSpan.FromDays(30));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>What is wrong with each key of a list (the configured one or the keys file's).</summary>
    public static IEnumerable<string> KeyErrors(IReadOnlyList<ApiKeyOptions> keys, string source)
    {
        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i].Key.Length < MinKeyLength)
            {
                yield return $"{source}:{i}:Key must be at least {MinKeyLength} characters.";
            }
            if (keys[i].Role is not (ApiRoles.Admin or ApiRoles.ReadOnly))
            {
                yield return $"{source}:{i}:Role must be '{ApiRoles.Admin}' or '{ApiRoles.ReadOnly}' (got '{keys[i].Role}').";
            }
        }
    }

    private static void Between(List<string> errors, string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{key} must be between {min} and {max} (got {value}).");
        }
    }
}
