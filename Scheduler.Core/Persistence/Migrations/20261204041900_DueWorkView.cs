using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scheduler.Core.Persistence.Migrations
{
    /// <summary>
    /// <c>scheduler.due_work</c>: the work the workers have or will have within 30 seconds, in one row. KEDA scales
    /// the workers on <c>SELECT work FROM scheduler.due_work</c> (deploy/overlays/prod), so the query lives with the
    /// schema it reads and changes with it; KEDA's database role needs SELECT on this view only, not on the runs.
    /// </summary>
    public partial class DueWorkView : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Each count is served by an index: ix_runs_status_due_at, ix_schedules_due (partial),
            // ix_callback_deliveries_status_next_attempt_at. PENDING runs due up to now are the ones waiting in
            // Hangfire's queues (a run stays PENDING until a worker takes it); a schedule due soon counts once,
            // however many runs it will make.
            migrationBuilder.Sql("""
                CREATE VIEW scheduler.due_work AS
                SELECT due_runs, running_runs, due_schedules, due_callbacks,
                       due_runs + running_runs + due_schedules + due_callbacks AS work
                FROM (SELECT
                    (SELECT count(*) FROM scheduler.runs
                      WHERE status = 'PENDING' AND due_at <= now() + interval '30 seconds'
                        AND COALESCE(next_attempt_at, due_at) <= now() + interval '30 seconds') AS due_runs,
                    (SELECT count(*) FROM scheduler.runs WHERE status = 'RUNNING') AS running_runs,
                    (SELECT count(*) FROM scheduler.schedules
                      WHERE status = 'ACTIVE' AND deleted_at IS NULL AND next_run_at <= now() + interval '30 seconds') AS due_schedules,
                    (SELECT count(*) FROM scheduler.callback_deliveries
                      WHERE status = 'PENDING' AND COALESCE(next_attempt_at, created_at) <= now() + interval '30 seconds') AS due_callbacks
                ) AS counts;
                COMMENT ON VIEW scheduler.due_work IS 'Work due within 30 s: KEDA scales the workers on SELECT work FROM scheduler.due_work';
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP VIEW IF EXISTS scheduler.due_work;");
        }
    }
}
