using System.Runtime.CompilerServices;

namespace Scheduler.Client;

/// <summary>Walks the lists a page at a time with the API's cursors, which keep their place while rows arrive.</summary>
public static class SchedulerApiPaging
{
    /// <summary>Every run that matches <paramref name="filter"/>, latest due first.</summary>
    /// <param name="api">The client.</param>
    /// <param name="filter">Which runs; its <see cref="RunFilter.Limit"/> is the page size.</param>
    /// <param name="cancellationToken">Stops the walk.</param>
    /// <returns>The runs, fetched a page at a time as they are enumerated.</returns>
    public static IAsyncEnumerable<Run> ListAllRunsAsync(this ISchedulerApi api, RunFilter? filter = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(api);
        return WalkAsync((cursor, token) => api.GetRunPageAsync(filter, cursor, token), cancellationToken);
    }

    /// <summary>Every live schedule, by id.</summary>
    /// <param name="api">The client.</param>
    /// <param name="pageSize">Rows per request (default 100).</param>
    /// <param name="cancellationToken">Stops the walk.</param>
    /// <returns>The schedules, fetched a page at a time as they are enumerated.</returns>
    public static IAsyncEnumerable<Schedule> ListAllSchedulesAsync(this ISchedulerApi api, int? pageSize = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(api);
        return WalkAsync((cursor, token) => api.GetSchedulePageAsync(cursor, pageSize, token), cancellationToken);
    }

    /// <summary>Every stored target, by id.</summary>
    /// <param name="api">The client.</param>
    /// <param name="pageSize">Rows per request (default 100).</param>
    /// <param name="cancellationToken">Stops the walk.</param>
    /// <returns>The targets, fetched a page at a time as they are enumerated.</returns>
    public static IAsyncEnumerable<Target> ListAllTargetsAsync(this ISchedulerApi api, int? pageSize = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(api);
        return WalkAsync((cursor, token) => api.GetTargetPageAsync(cursor, pageSize, token), cancellationToken);
    }

    private static async IAsyncEnumerable<T> WalkAsync<T>(
        Func<string, CancellationToken, Task<Page<T>>> fetch, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // An empty cursor asks for the first page in the page form ({items, next_cursor}).
        string? cursor = string.Empty;
        while (cursor is not null)
        {
            var page = await fetch(cursor, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                yield return item;
            }
            cursor = page.NextCursor;
        }
    }
}
