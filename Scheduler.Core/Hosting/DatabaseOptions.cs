namespace Scheduler.Core.Hosting;

/// <summary>
/// Where the data lives. <c>ConnectionStrings:Scheduler</c> (env <c>ConnectionStrings__Scheduler</c>) is the
/// usual way to set <see cref="ConnectionString"/>; Hangfire's tables may live in another database.
/// </summary>
public sealed class DatabaseOptions
{
    public const string Section = "Database";

    /// <summary>The <c>scheduler</c> schema's database. Defaults to <c>ConnectionStrings:Scheduler</c>.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Hangfire's storage. Defaults to <c>ConnectionStrings:Hangfire</c>, then to <see cref="ConnectionString"/>.</summary>
    public string HangfireConnectionString { get; set; } = "";

    public string HangfireSchema { get; set; } = "hangfire";

    /// <summary>How long a starting process waits for the database and its migrations before giving up.</summary>
    public TimeSpan StartupWait { get; set; } = TimeSpan.FromSeconds(60);
}

internal sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        var errors = new List<string>();
        CheckConnectionString(errors, "ConnectionStrings:Scheduler (or Database:ConnectionString)", options.ConnectionString);
        CheckConnectionString(errors, "Database:HangfireConnectionString", options.HangfireConnectionString);
        if (string.IsNullOrWhiteSpace(options.HangfireSchema) || !options.HangfireSchema.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            errors.Add($"Database:HangfireSchema must be a lower-case SQL identifier (got '{options.HangfireSchema}').");
        }
        if (options.StartupWait < TimeSpan.Zero)
        {
            errors.Add($"Database:StartupWait must not be negative (got {options.StartupWait}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckConnectionString(List<string> errors, string key, string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{key} is not set: give a PostgreSQL connection string such as 'Host=127.0.0.1;Port=5432;Username=postgres;Database=scheduler'.");
            return;
        }
        try
        {
            _ = new NpgsqlConnectionStringBuilder(value);
        }
        catch (ArgumentException ex)
        {
            errors.Add($"{key} is not a valid PostgreSQL connection string: {ex.Message}");
        }
    }
}
