using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scheduler.Core.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class Continuations : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropCheckConstraint(
                name: "ck_runs_trigger",
                schema: "scheduler",
                table: "runs");

            migrationBuilder.AddColumn<long>(
                name: "parent_run_id",
                schema: "scheduler",
                table: "runs",
                type: "bigint",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "schedule_continuations",
                schema: "scheduler",
                columns: table => new
                {
                    schedule_id = table.Column<long>(type: "bigint", nullable: false),
                    next_schedule_id = table.Column<long>(type: "bigint", nullable: false),
                    fires_when = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    position = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_schedule_continuations", x => new { x.schedule_id, x.next_schedule_id });
                    table.CheckConstraint("ck_schedule_continuations_fires_when", "fires_when IN ('success', 'failure', 'any')");
                    table.ForeignKey(
                        name: "fk_schedule_continuations_schedules_next_schedule_id",
                        column: x => x.next_schedule_id,
                        principalSchema: "scheduler",
                        principalTable: "schedules",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_schedule_continuations_schedules_schedule_id",
                        column: x => x.schedule_id,
                        principalSchema: "scheduler",
                        principalTable: "schedules",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_runs_parent_run_id_schedule_id",
                schema: "scheduler",
                table: "runs",
                columns: new[] { "parent_run_id", "schedule_id" },
                unique: true,
                filter: "parent_run_id IS NOT NULL");

            migrationBuilder.AddCheckConstraint(
                name: "ck_runs_trigger",
                schema: "scheduler",
                table: "runs",
                sql: "trigger IN ('SCHEDULED', 'IMMEDIATE', 'MANUAL', 'CATCH_UP', 'CONTINUATION')");

            migrationBuilder.CreateIndex(
                name: "ix_schedule_continuations_next_schedule_id",
                schema: "scheduler",
                table: "schedule_continuations",
                column: "next_schedule_id");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "schedule_continuations",
                schema: "scheduler");

            migrationBuilder.DropIndex(
                name: "ix_runs_parent_run_id_schedule_id",
                schema: "scheduler",
                table: "runs");

            migrationBuilder.DropCheckConstraint(
                name: "ck_runs_trigger",
                schema: "scheduler",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "parent_run_id",
                schema: "scheduler",
                table: "runs");

            migrationBuilder.AddCheckConstraint(
                name: "ck_runs_trigger",
                schema: "scheduler",
                table: "runs",
                sql: "trigger IN ('SCHEDULED', 'IMMEDIATE', 'MANUAL', 'CATCH_UP')");
        }
    }
}
