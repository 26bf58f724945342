using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scheduler.Core.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class ScheduleCreatedBy : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "created_by",
                schema: "scheduler",
                table: "schedules",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_schedules_created_by_active",
                schema: "scheduler",
                table: "schedules",
                column: "created_by",
                filter: "status IN ('ACTIVE', 'PAUSED') AND deleted_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_schedules_created_by_active",
                schema: "scheduler",
                table: "schedules");

            migrationBuilder.DropColumn(
                name: "created_by",
                schema: "scheduler",
                table: "schedules");
        }
    }
}
