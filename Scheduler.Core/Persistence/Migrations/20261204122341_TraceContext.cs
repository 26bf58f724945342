using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scheduler.Core.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class TraceContext : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "trace_parent",
                schema: "scheduler",
                table: "schedules",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "trace_parent",
                schema: "scheduler",
                table: "runs",
                type: "text",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "trace_parent",
                schema: "scheduler",
                table: "schedules");

            migrationBuilder.DropColumn(
                name: "trace_parent",
                schema: "scheduler",
                table: "runs");
        }
    }
}
