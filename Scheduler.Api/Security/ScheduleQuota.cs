using System.Collections.Concurrent;
using System.Security.Claims;
using Npgsql;

namespace Scheduler.Api.Security;

/// <summary>
/// <c>Limits:MaxActiveSchedulesPerKey</c>: how many schedules that can still run (ACTIVE or PAUSED, not
/// deleted) each API key may have. The count is one index-only query (<c>ix_schedules_created_by_active</c>),
/// not made for every request: far below the limit a count up to a minute old plus what this process has
/// created since is good enough; within a tenth of the limit the key is counted again at most once a second,
/// and after a delete here before it is refused. So one API process enforces the limit exactly for
/// sequential requests, and several replicas together may pass it by what they create within a second.
/// </summary>
public sealed class ScheduleQuota(NpgsqlDataSource database, IOptions<LimitsOptions> options, TimeProvider time)
{
    private static readonly TimeSpan FarRecount = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan NearRecount = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Usage> _usage = new(StringComparer.Ordinal);

    private sealed class Usage
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public long Counted { get; set; }
        public long Added { get; set; }
        public DateTimeOffset CountedAt { get; set; } = DateTimeOffset.MinValue;
        public bool Stale { get; set; }
    }

    /// <summary>What a schedule records as its creator: the API key's name.</summary>
    public static string OwnerOf(ClaimsPrincipal? user) => user?.Identity?.Name ?? "";

    /// <summary>
    /// Takes room for <paramref name="adding"/> more schedules of <paramref name="owner"/>, or throws
    /// <see cref="ScheduleQuotaExceededException"/>. Give the room back with <see cref="Release"/> when they are not saved.
    /// </summary>
    public async Task ReserveAsync(string owner, int adding, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var max = options.Value.MaxActiveSchedulesPerKey;
        var usage = _usage.GetOrAdd(owner, _ => new Usage());
        await usage.Gate.WaitAsync(cancellationToken);
        try
        {
            var age = time.GetUtcNow() - usage.CountedAt;
            var near = usage.Counted + usage.Added + adding > max - (max / 10);
            if (age >= FarRecount || (near && (age >= NearRecount || usage.Stale)))
            {
                usage.Counted = await CountAsync(owner, cancellationToken);
                (usage.Added, usage.CountedAt, usage.Stale) = (0, time.GetUtcNow(), false);
            }
            var active = usage.Counted + usage.Added;
            if (active + adding > max)
            {
                throw new ScheduleQuotaExceededException(owner, active, adding, max);
            }
            usage.Added += adding;
        }
        finally
        {
            usage.Gate.Release();
        }
    }

    /// <summary>Gives back room taken for schedules that were not saved.</summary>
    public void Release(string owner, int count)
    {
        if (_usage.TryGetValue(owner, out var usage))
        {
            usage.Gate.Wait();
            try
            {
                usage.Added -= count;
            }
            finally
            {
                usage.Gate.Release();
            }
        }
    }

    /// <summary>A schedule of <paramref name="owner"/> was deleted: count again before refusing it.</summary>
    public void Forget(string? owner)
    {
        if (owner is not null && _usage.TryGetValue(owner, out var usage))
        {
            usage.Stale = true;
        }
    }

    private static readonly string CountSql =
        $"SELECT count(*) FROM scheduler.schedules WHERE created_by = $1 AND status IN ({Sql.Literals(ScheduleStatus.Active, ScheduleStatus.Paused)}) AND deleted_at IS NULL";

    private async Task<long> CountAsync(string owner, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(CountSql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = owner });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}

/// <summary>A key would have more schedules that can still run than <c>Limits:MaxActiveSchedulesPerKey</c> allows (a 409).</summary>
public sealed class ScheduleQuotaExceededException(string owner, long active, int adding, int max)
    : Exception($"The API key '{owner}' has {active} active or paused schedule(s); Limits:MaxActiveSchedulesPerKey allows {max}, so {adding} more cannot be added. Delete schedules, or let them finish, first.")
{
    public long Active { get; } = active;

    public int Max { get; } = max;
}
