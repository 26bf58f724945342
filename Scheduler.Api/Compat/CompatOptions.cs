namespace Scheduler.Api.Compat;

/// <summary>The seeds' own contracts (section <c>Compat</c>): where each is served, and what it needs.</summary>
public sealed class CompatOptions
{
    public const string Section = "Compat";

    /// <summary>Seed 002's callme API; <c>/</c> serves it at the root, empty turns it off.</summary>
    public string CallmePrefix { get; set; } = "/callme";

    /// <summary>Seed 003's tasks RPC (<c>tasks.create</c>, …); <c>/</c> serves it at the root, empty turns it off.</summary>
    public string TasksPrefix { get; set; } = "/api";

    /// <summary>Seed 004's reliable tasks endpoint; <c>/</c> serves it at the root, empty turns it off.</summary>
    public string CeleryPrefix { get; set; } = "/celery";

    /// <summary>Seed 000's Schedule Requests; <c>/</c> serves it at the root, empty turns it off.</summary>
    public string FrappePrefix { get; set; } = "/frappe";

    /// <summary>The named job seed 004's <c>POST /tasks</c> runs with <c>{"data": …}</c>.</summary>
    public string CeleryJob { get; set; } = "echo";

    /// <summary>
    /// Seed 000's callback profiles: named header sets (<c>Compat:CallbackProfiles:erp:Headers:Authorization</c>),
    /// each sent only to the URLs configured with it (<c>Compat:CallbackProfiles:erp:Urls:0</c>).
    /// </summary>
    public Dictionary<string, CallbackProfile> CallbackProfiles { get; set; } = [];
}

/// <summary>A callback profile: headers (often credentials) and the only URLs they may be sent to.</summary>
public sealed class CallbackProfile
{
    public Dictionary<string, string> Headers { get; set; } = [];

    /// <summary>
    /// Where callbacks with this profile may go: a callback URL matches one of these when it has the same
    /// scheme, host and port and its path starts with this URL's path.
    /// </summary>
    public List<string> Urls { get; set; } = [];

    /// <summary>Whether <paramref name="url"/> is one this profile's headers may be sent to.</summary>
    public bool Allows(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var callback) && Urls.Any(allowed =>
            Uri.TryCreate(allowed, UriKind.Absolute, out var uri)
            && Uri.Compare(uri, callback, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0
            && callback.AbsolutePath.StartsWith(uri.AbsolutePath, StringComparison.Ordinal));
}

internal sealed class CompatOptionsValidator : IValidateOptions<CompatOptions>
{
    public ValidateOptionsResult Validate(string? name, CompatOptions options)
    {
        var errors = new List<string>();
        foreach (var (key, prefix) in new[] { ("CallmePrefix", options.CallmePrefix), ("TasksPrefix", options.TasksPrefix), ("CeleryPrefix", options.CeleryPrefix), ("FrappePrefix", options.FrappePrefix) })
        {
            if (prefix is not ("" or "/") && (!prefix.StartsWith('/') || prefix.EndsWith('/') || prefix.Contains(' ', StringComparison.Ordinal)))
            {
                errors.Add($"Compat:{key} '{prefix}' must be empty (off), / (the root) or a path like /callme (leading slash, no trailing slash).");
            }
        }
        foreach (var (profileName, profile) in options.CallbackProfiles)
        {
            if (profile.Urls.Count == 0 || profile.Urls.Any(u => !Uri.TryCreate(u, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            {
                errors.Add($"Compat:CallbackProfiles:{profileName}:Urls must list the http(s) URLs its headers may be sent to (Compat:CallbackProfiles:{profileName}:Urls:0=https://erp.example.com/callbacks/).");
            }
            if (profile.Headers.Count == 0)
            {
                errors.Add($"Compat:CallbackProfiles:{profileName}:Headers is empty (Compat:CallbackProfiles:{profileName}:Headers:Authorization=...).");
            }
            foreach (var header in profile.Headers.Where(h => Core.Security.SecretProtector.IsProtected(h.Value)).Select(h => h.Key))
            {
                errors.Add($"Compat:CallbackProfiles:{profileName}:Headers:{header} {Targets.TargetValidation.LooksEncrypted}");
            }
        }
        if (string.IsNullOrWhiteSpace(options.CeleryJob))
        {
            errors.Add("Compat:CeleryJob must name a registered job.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
