using Microsoft.Extensions.Options;

namespace Scheduler.Api.Security;

/// <summary>Who may call the API and open the dashboard (section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>The accepted keys. At least one is required: the API serves nothing without a key.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>How long a dashboard sign-in lasts (sliding).</summary>
    public TimeSpan DashboardSession { get; set; } = TimeSpan.FromHours(8);
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
        if (options.ApiKeys.Count == 0)
        {
            errors.Add("Auth:ApiKeys is empty: configure at least one key (Auth__ApiKeys__0__Key, Auth__ApiKeys__0__Role=admin); `./run` generates one.");
        }
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i];
            if (key.Key.Length < MinKeyLength)
            {
                errors.Add($"Auth:ApiKeys:{i}:Key must be at least {MinKeyLength} characters.");
            }
            if (key.Role is not (ApiRoles.Admin or ApiRoles.ReadOnly))
            {
                errors.Add($"Auth:ApiKeys:{i}:Role must be '{ApiRoles.Admin}' or '{ApiRoles.ReadOnly}' (got '{key.Role}').");
            }
        }
        if (options.ApiKeys.GroupBy(k => k.Key, StringComparer.Ordinal).Any(g => g.Key.Length > 0 && g.Count() > 1))
        {
            errors.Add("Auth:ApiKeys: the same key is configured twice.");
        }
        if (options.DashboardSession < TimeSpan.FromMinutes(1) || options.DashboardSession > TimeSpan.FromDays(30))
        {
            errors.Add($"Auth:DashboardSession must be between 00:01:00 and 30.00:00:00 (got {options.DashboardSession}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
