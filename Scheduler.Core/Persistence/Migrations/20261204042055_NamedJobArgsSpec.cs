using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scheduler.Core.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class NamedJobArgsSpec : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "args_spec",
                schema: "scheduler",
                table: "job_types",
                type: "jsonb",
                nullable: true);

            // Retention is maintenance now (the recurring job only): it is no named job, and schedules that ran it stop.
            migrationBuilder.Sql("""
                DELETE FROM scheduler.job_types WHERE name = 'retention';
                UPDATE scheduler.schedules
                SET status = 'STOPPED', next_run_at = NULL, updated_at = now(),
                    remarks = array_append(remarks, 'Stopped: retention is a maintenance job that runs by itself (Execution:RetentionCron); it can no longer be scheduled.')
                WHERE job_name = 'retention' AND deleted_at IS NULL AND status IN ('ACTIVE', 'PAUSED');
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "args_spec",
                schema: "scheduler",
                table: "job_types");
        }
    }
}
