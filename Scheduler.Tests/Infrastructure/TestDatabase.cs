using Npgsql;

using Scheduler.Core.Model;
using Scheduler.Tests;

namespace Scheduler.Tests.Infrastructure;

/// <summary>Direct access to the test database: resets before each test, and reads for assertions.</summary>
public static class TestDatabase
{
    /// <summary>
    /// Empties the scheduler tables and Hangfire's job tables, and Hangfire's scheduled set with them.
    /// Identities are not restarted, so a job left over from an earlier test can never match a row of this one.
    /// </summary>
    /// <remarks>
    /// The scheduled set (<c>hangfire.set</c>, key <c>schedule</c>) is not tied to the job table, so truncating the
    /// jobs left an earlier test's scheduled jobs (a retry, a run waiting for its target's limits) in it. When such
    /// an entry came due, the DelayedJobScheduler of whichever worker ran then looked for its job for 10 s before
    /// dropping it (Hangfire reads a missing job five times, waiting 0, 1, 2, 3 and 4 s after each, as
    /// Hangfire.PostgreSql does not claim linearizable reads; the log then says "removed from the schedule,
    /// because it's expired or its state was changed"), and every job of this test due behind it waited: three
    /// such entries made a run 20 s late. The other sets (<c>recurring-jobs</c>) belong to the running processes.
    /// </remarks>
    public static async Task ResetAsync()
    {
        // A dispatcher or worker of the running system may hold row locks the truncation conflicts with;
        // PostgreSQL then aborts one side as a deadlock, so try again.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteAsync("""
                    TRUNCATE scheduler.callback_deliveries, scheduler.attempts, scheduler.runs, scheduler.schedule_continuations, scheduler.schedules, scheduler.targets, scheduler.reconciliations,
                        scheduler.limit_rates, scheduler.limit_slots;
                    TRUNCATE hangfire.jobqueue, hangfire.state, hangfire.jobparameter, hangfire.job CASCADE;
                    DELETE FROM hangfire.set WHERE key = 'schedule';
                    """);
                return;
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.LockNotAvailable && attempt < 5)
            {
                await TestContext.Progress.WriteLineAsync($"Reset: {ex.SqlState}, retrying ({attempt})");
            }
        }
    }

    public static async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)Convert.ChangeType((await command.ExecuteScalarAsync())!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Runs <paramref name="sql"/> in <paramref name="transaction"/> and returns the first column of its rows, a line each
    /// (what <c>EXPLAIN</c> answers, for a test that reads a plan).
    /// </summary>
    public static async Task<string> LinesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await using var reader = await command.ExecuteReaderAsync();
        var lines = new List<string>();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetValue(0).ToString()!);
        }
        return string.Join('\n', lines);
    }

    /// <summary>The first column of the first row, or null when there is no row (or it is NULL).</summary>
    public static async Task<T?> ScalarOrNullAsync<T>(string sql) where T : class
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync() as T;
    }

    /// <summary>
    /// The Hangfire job of the schedule's latest run, once the API has handed the committed run over (it does so
    /// just after answering, in the background).
    /// </summary>
    public static Task<string> JobOfLatestRunAsync(long scheduleId) =>
        Eventually.ValueAsync(async () =>
        {
            await using var connection = await OpenAsync();
            await using var command = new NpgsqlCommand($"SELECT hangfire_job_id FROM scheduler.runs WHERE schedule_id = {scheduleId} ORDER BY id DESC LIMIT 1", connection);
            return await command.ExecuteScalarAsync() as string;
        }, TimeSpan.FromSeconds(30), $"schedule {scheduleId}'s run to be handed to Hangfire");

    /// <summary>
    /// Runs PENDING with a retry whose Hangfire job waits in the scheduled set (a worker hands the retry over just
    /// after committing it): of one schedule, or of every schedule.
    /// </summary>
    public static Task<long> ScheduledRetriesAsync(long? scheduleId = null) =>
        ScalarAsync<long>($"""
            SELECT count(*) FROM scheduler.runs r JOIN hangfire.job j ON j.id = r.hangfire_job_id::bigint
            WHERE r.status = {Sql.Literal(RunStatus.Pending)} AND r.next_attempt_at IS NOT NULL AND j.statename = 'Scheduled'
              {(scheduleId is { } id ? $"AND r.schedule_id = {id}" : "")}
            """);

    /// <summary>
    /// The start of a statement that inserts an inline target and a PAUSED interval schedule for it (so no
    /// dispatcher touches it): <c>WITH t AS (…), s AS (… RETURNING id)</c>, for the statement to go on with its runs
    /// (<c>INSERT INTO scheduler.runs … SELECT s.id, … FROM s</c>).
    /// </summary>
    public const string WithPausedSchedule = """
        WITH t AS (
          INSERT INTO scheduler.targets (inline, url, method, headers, timeout_seconds, created_at, updated_at)
          VALUES (true, 'https://example.com/', 'GET', '{}', 30, now(), now()) RETURNING id),
        s AS (
          INSERT INTO scheduler.schedules (target_id, schedule_type, status, overlap_policy, catch_up_policy, expected_http_status,
                                           callback_headers, no_response, source, remarks, created_at, updated_at)
          SELECT id, 'INTERVAL', 'PAUSED', 'ALLOW', 'ONE', '{}', '{}', false, 'api', '{}', now(), now() FROM t RETURNING id)
        """;

    /// <summary>Row counts of every scheduler table, to prove a rejected request wrote nothing.</summary>
    public static async Task<string> CountsAsync() =>
        await ScalarAsync<string>("""
            SELECT format('targets=%s schedules=%s runs=%s attempts=%s',
              (SELECT count(*) FROM scheduler.targets), (SELECT count(*) FROM scheduler.schedules),
              (SELECT count(*) FROM scheduler.runs), (SELECT count(*) FROM scheduler.attempts))
            """);

    /// <summary>What the names of the processes' warm-up databases start with, for the test database (RehearsalDatabase).</summary>
    public static async Task<string> RehearsalPrefixAsync() =>
        await ScalarAsync<string>("SELECT current_database()") + Scheduler.Core.Persistence.RehearsalDatabase.Infix;

    /// <summary>The warm-up databases there are now (a process drops its own, and old ones).</summary>
    public static async Task<string[]> RehearsalDatabasesAsync()
    {
        var prefix = await RehearsalPrefixAsync();
        return await ScalarAsync<string[]>($"SELECT COALESCE(array_agg(datname), '{{}}') FROM pg_database WHERE left(datname, {prefix.Length}) = '{prefix}'");
    }

    /// <summary>Drops every warm-up database there is: what a test made, or a process it stopped left.</summary>
    public static async Task DropRehearsalDatabasesAsync()
    {
        foreach (var name in await RehearsalDatabasesAsync())
        {
            await ExecuteAsync($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        }
    }

    public static async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(TestAssemblySetup.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}
