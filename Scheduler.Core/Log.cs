using Microsoft.Extensions.Logging;

namespace Scheduler.Core;

/// <summary>Log messages of Scheduler.Core (event ids 1000-1999).</summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "Applied {Count} migration(s) to schema scheduler: {Migrations}")]
    public static partial void MigrationsApplied(ILogger logger, int count, string migrations);

    [LoggerMessage(1002, LogLevel.Information, "Hangfire schema {Schema} is installed and current")]
    public static partial void HangfireSchemaInstalled(ILogger logger, string schema);

    [LoggerMessage(1003, LogLevel.Information, "Created database {Database}")]
    public static partial void DatabaseCreated(ILogger logger, string database);

    [LoggerMessage(1004, LogLevel.Warning, "Waiting for the database: {Problem}")]
    public static partial void WaitingForDatabase(ILogger logger, string problem);

    [LoggerMessage(1005, LogLevel.Information, "Reconciliation ({Trigger}) repaired {Repaired}: {Kinds}")]
    public static partial void Reconciled(ILogger logger, string trigger, int repaired, string kinds);

    [LoggerMessage(1006, LogLevel.Information, "Reconciliation ({Trigger}) skipped: another pass is running")]
    public static partial void ReconciliationSkipped(ILogger logger, string trigger);

    [LoggerMessage(1007, LogLevel.Warning, "{Count} committed run(s) could not be handed to Hangfire ({Message}); reconciliation will queue them")]
    public static partial void HandOffDeferred(ILogger logger, int count, string message);

    [LoggerMessage(1008, LogLevel.Warning, "Fetching a Hangfire job failed ({Message}); trying again after the poll interval")]
    public static partial void JobFetchFailed(ILogger logger, string message);

    [LoggerMessage(1009, LogLevel.Warning, "The Hangfire job listener lost its connection ({Message}); reconnecting, workers poll meanwhile")]
    public static partial void JobListenerLost(ILogger logger, string message);

    [LoggerMessage(1012, LogLevel.Error, "The Hangfire job listener failed ({Error}); listening again in a second, workers poll meanwhile")]
    public static partial void JobListenerFailed(ILogger logger, string error, Exception exception);

    [LoggerMessage(1010, LogLevel.Warning, "Hangfire job {JobId} was fetched again: its earlier fetch at {FetchedAt:O} by {Claimant} was neither finished nor handed back, so it waited the invisibility timeout ({Timeout})")]
    public static partial void JobFetchedAgain(ILogger logger, string jobId, DateTimeOffset fetchedAt, string claimant, TimeSpan timeout);

    [LoggerMessage(1011, LogLevel.Warning, "Fetching a Hangfire job threw {Error}; its claim was rolled back, and Hangfire's worker fetches again")]
    public static partial void JobFetchThrew(ILogger logger, string error, Exception exception);

    [LoggerMessage(1041, LogLevel.Warning, "The queue gauges could not be read ({Message}); the last reading stays")]
    public static partial void DueWorkUnread(ILogger logger, string message);

    [LoggerMessage(1051, LogLevel.Information, "{Count} failed run job(s) left Hangfire's Failed page: their runs were retried elsewhere, succeeded or were deleted")]
    public static partial void FailedJobsCleared(ILogger logger, int count);
}
