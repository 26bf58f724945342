using Microsoft.Extensions.Options;
using Npgsql;
using Scheduler.Core.Model;
using Scheduler.Core.Hosting;

namespace Scheduler.Tests.Worker.Runs.Store;

/// <summary>
/// The worker's statements against the migrated test database without processes: a reset database and a data
/// source per test, the default execution settings, and a PENDING run to work on.
/// </summary>
public abstract class StatementTestBase
{
    protected static readonly IOptions<ExecutionOptions> Options = Microsoft.Extensions.Options.Options.Create(new ExecutionOptions());

    protected NpgsqlDataSource Database { get; private set; } = null!;

    [SetUp]
    public async Task SetUpDatabaseAsync()
    {
        await TestDatabase.ResetAsync();
        Database = NpgsqlDataSource.Create(TestAssemblySetup.ConnectionString);
    }

    [TearDown]
    public void DisposeDatabase() => Database.Dispose();

    /// <summary>A schedule no dispatcher of another test touches (STOPPED or PAUSED; a test may start its runs itself).</summary>
    protected static Task<long> ScheduleAsync(ScheduleStatus status = ScheduleStatus.Stopped) =>
        // The shared insert's schedule is PAUSED; its status is set here (a statement cannot update what its own WITH inserted).
        TestDatabase.ScalarAsync<long>($"""
            {TestDatabase.WithPausedSchedule.Replace("'PAUSED'", Sql.Literal(status), StringComparison.Ordinal)}
            SELECT id FROM s
            """);

    /// <summary>A PENDING run of the schedule, due in <paramref name="dueInSeconds"/>.</summary>
    protected static Task<long> InsertRunAsync(long scheduleId, int dueInSeconds = 0) =>
        TestDatabase.ScalarAsync<long>($"""
            INSERT INTO scheduler.runs (schedule_id, due_at, status, trigger, attempt_count, retry_requested, remarks, created_at, updated_at)
            VALUES ({scheduleId}, now() + make_interval(secs => {dueInSeconds}), {Sql.Literal(RunStatus.Pending)}, {Sql.Literal(RunTrigger.Scheduled)}, 0, false, '{"{}"}', now(), now())
            RETURNING id
            """);
}
