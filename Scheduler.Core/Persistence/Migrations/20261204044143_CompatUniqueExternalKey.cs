using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scheduler.Core.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class CompatUniqueExternalKey : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_schedules_source_external_key",
                schema: "scheduler",
                table: "schedules");

            // Keys taken twice before the index (a callme reschedule of two entries onto one time, racing
            // PUTs, a task renamed onto another's name): the oldest schedule keeps the key, each other one
            // becomes key#id. None is deleted or stopped — they keep running, and show under the new key
            // (GET /callme/status/<name> lists it; tasks.update can rename it).
            migrationBuilder.Sql("""
                UPDATE scheduler.schedules s
                SET external_key = s.external_key || '#' || s.id
                FROM (SELECT id, row_number() OVER (PARTITION BY source, external_key ORDER BY id) AS n
                      FROM scheduler.schedules
                      WHERE external_key IS NOT NULL AND deleted_at IS NULL) d
                WHERE s.id = d.id AND d.n > 1;
                """);

            migrationBuilder.CreateIndex(
                name: "ix_schedules_source_external_key",
                schema: "scheduler",
                table: "schedules",
                columns: new[] { "source", "external_key" },
                unique: true,
                filter: "external_key IS NOT NULL AND deleted_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_schedules_source_external_key",
                schema: "scheduler",
                table: "schedules");

            migrationBuilder.CreateIndex(
                name: "ix_schedules_source_external_key",
                schema: "scheduler",
                table: "schedules",
                columns: new[] { "source", "external_key" });
        }
    }
}
