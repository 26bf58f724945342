using Microsoft.Extensions.Options;

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

    /// <summary>Seed 000's callback profiles: named header sets (<c>Compat:CallbackProfiles:erp:Authorization</c>).</summary>
    public Dictionary<string, Dictionary<string, string>> CallbackProfiles { get; set; } = [];
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
        if (string.IsNullOrWhiteSpace(options.CeleryJob))
        {
            errors.Add("Compat:CeleryJob must name a registered job.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
