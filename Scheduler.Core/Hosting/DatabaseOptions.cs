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

    /// <summary>
    /// For what needs a PostgreSQL session of its own (LISTEN for the dispatcher's wake-ups, the reconciliation's
    /// session advisory lock, migrations and the schema check): always a direct connection, never through a
    /// pooler in transaction mode. Defaults to <c>ConnectionStrings:SchedulerSession</c>, then to <see cref="ConnectionString"/>.
    /// </summary>
    public string SessionConnectionString { get; set; } = "";

    /// <summary>
    /// The same for Hangfire's database (LISTEN for new jobs, the schema install). Defaults to
    /// <c>ConnectionStrings:HangfireSession</c>; then, when Hangfire has a database of its own, to
    /// <see cref="HangfireConnectionString"/>; otherwise to <see cref="SessionConnectionString"/>.
    /// </summary>
    public string HangfireSessionConnectionString { get; set; } = "";

    public string HangfireSchema { get; set; } = "hangfire";

    /// <summary>How long a starting process waits for the database and its migrations before giving up.</summary>
    public TimeSpan StartupWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How often a worker looks for tables whose size doubled since PostgreSQL's statistics last counted them, and
    /// analyzes them (the worker's TableStatistics). Zero turns it off and leaves it to autovacuum.
    /// </summary>
    public TimeSpan StatisticsInterval { get; set; } = TimeSpan.FromSeconds(2);
}

internal sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        var errors = new List<string>();
        CheckConnectionString(errors, "ConnectionStrings:Scheduler (or Database:ConnectionString)", options.ConnectionString);
        CheckConnectionString(errors, "Database:HangfireConnectionString", options.HangfireConnectionString);
        CheckOptionalConnectionString(errors, "ConnectionStrings:SchedulerSession (or Database:SessionConnectionString)", options.SessionConnectionString);
        CheckOptionalConnectionString(errors, "ConnectionStrings:HangfireSession (or Database:HangfireSessionConnectionString)", options.HangfireSessionConnectionString);
        if (string.IsNullOrWhiteSpace(options.HangfireSchema) || !options.HangfireSchema.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            errors.Add($"Database:HangfireSchema must be a lower-case SQL identifier (got '{options.HangfireSchema}').");
        }
        if (options.StartupWait < TimeSpan.Zero)
        {
            errors.Add($"Database:StartupWait must not be negative (got {options.StartupWait}).");
        }
        if (options.StatisticsInterval < TimeSpan.Zero)
        {
            errors.Add($"Database:StatisticsInterval must not be negative (got {options.StatisticsInterval}; 00:00:00 turns it off).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckOptionalConnectionString(List<string> errors, string key, string value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            CheckConnectionString(errors, key, value);
        }
    }

    private static void CheckConnectionString(List<string> errors, string key, string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{key} is not set: give a PostgreSQL connection string such as 'Host=127.0.0.1;Port=5432;Username=postgres;Database=scheduler'.");
            return;
        }
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(value);
        }
        catch (ArgumentException ex)
        {
            errors.Add($"{key} is not a valid PostgreSQL connection string: {ex.Message}");
            return;
        }
        // Npgsql would only say so at the first connection, without naming the setting.
        if (builder.Pooling && builder.MaxPoolSize < Math.Max(1, builder.MinPoolSize))
        {
            errors.Add($"{key}: Maximum Pool Size must be at least 1 and at least Minimum Pool Size (got {builder.MaxPoolSize} and {builder.MinPoolSize}).");
        }
    }
}
