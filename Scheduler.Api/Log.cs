namespace Scheduler.Api;

/// <summary>Log messages of Scheduler.Api (event ids 2000-2999).</summary>
internal static partial class Log
{
    [LoggerMessage(2001, LogLevel.Error, "Unhandled exception on {Method} {Path}")]
    public static partial void UnhandledException(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(2002, LogLevel.Warning, "Database unavailable: {Message}")]
    public static partial void DatabaseUnavailable(ILogger logger, string message);

    [LoggerMessage(2003, LogLevel.Information, "Schedule {ScheduleId} ({ScheduleType}) created; next run due {NextRunAt:O}")]
    public static partial void ScheduleCreated(ILogger logger, long scheduleId, string scheduleType, DateTimeOffset? nextRunAt);

    [LoggerMessage(2006, LogLevel.Information, "{Count} schedules created in bulk (ids {FirstId} to {LastId})")]
    public static partial void SchedulesCreated(ILogger logger, int count, long firstId, long lastId);

    [LoggerMessage(2004, LogLevel.Information, "Target {TargetId} ({TargetName}) created")]
    public static partial void TargetCreated(ILogger logger, long targetId, string? targetName);

    [LoggerMessage(2005, LogLevel.Warning, "Schedules committed, but the dispatchers could not be woken ({Message}); they will see them at their next look")]
    public static partial void DispatchersNotWoken(ILogger logger, string message);

    [LoggerMessage(2007, LogLevel.Information, "Create path warmed up before listening: {Passes} rehearsals (rolled back) in {ElapsedMs:0} ms")]
    public static partial void WarmedUp(ILogger logger, int passes, double elapsedMs);

    [LoggerMessage(2008, LogLevel.Warning, "Create path not warmed up ({Message}); the first requests compile it")]
    public static partial void WarmUpFailed(ILogger logger, string message);

    [LoggerMessage(2009, LogLevel.Information, "Warmed up through HTTP: {Requests} create requests ({Written}) in {ElapsedMs:0} ms, {Methods} methods compiled meanwhile; ready")]
    public static partial void WarmedUpThroughHttp(ILogger logger, int requests, string written, double elapsedMs, long methods);

    [LoggerMessage(2010, LogLevel.Warning, "HTTP warm-up stopped ({Message}); ready without it, the first requests compile what it did not")]
    public static partial void HttpWarmUpFailed(ILogger logger, string message);

    [LoggerMessage(2011, LogLevel.Information, "The warm-up has no database of its own ({Message}): its creates are made ready, not sent, and the first requests compile the rest")]
    public static partial void RehearsalDatabaseUnavailable(ILogger logger, string message);

    [LoggerMessage(2012, LogLevel.Warning, "The warm-up's database {Name} was not dropped ({Message}); the API's next start drops it")]
    public static partial void RehearsalDatabaseNotDropped(ILogger logger, string name, string message);

    [LoggerMessage(2021, LogLevel.Information, "{Kind} {Id} now points at another origin; dropped what was not given again for it: {Dropped}")]
    public static partial void SecretsDropped(ILogger logger, string kind, long id, string dropped);

    [LoggerMessage(2101, LogLevel.Information, "API keys read again from {File}: {Count} keys in force")]
    public static partial void ApiKeysReloaded(ILogger logger, int count, string file);

    [LoggerMessage(2102, LogLevel.Warning, "The API keys stay as they were: {Problem}")]
    public static partial void ApiKeysFileRejected(ILogger logger, string problem);

    [LoggerMessage(2103, LogLevel.Information, "Dashboard session of key {KeyName} ended: {Reason}")]
    public static partial void DashboardSessionEnded(ILogger logger, string? keyName, string reason);

    [LoggerMessage(2201, LogLevel.Information, "Dashboard action by key {KeyName}: {Method} {Path}: {Outcome}")]
    public static partial void DashboardAction(ILogger logger, string? keyName, string method, string path, string outcome);
}
