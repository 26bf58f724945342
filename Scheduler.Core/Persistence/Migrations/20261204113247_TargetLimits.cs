using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scheduler.Core.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class TargetLimits : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "max_concurrency",
                schema: "scheduler",
                table: "targets",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "rate_limit_per_second",
                schema: "scheduler",
                table: "targets",
                type: "double precision",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "limit_turn_at",
                schema: "scheduler",
                table: "runs",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "limit_wait_since",
                schema: "scheduler",
                table: "runs",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "limit_rates",
                schema: "scheduler",
                columns: table => new
                {
                    limit_key = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: false),
                    next_call_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_limit_rates", x => x.limit_key);
                });

            migrationBuilder.CreateTable(
                name: "limit_slots",
                schema: "scheduler",
                columns: table => new
                {
                    limit_key = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: false),
                    run_id = table.Column<long>(type: "bigint", nullable: false),
                    worker = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    acquired_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_limit_slots", x => new { x.limit_key, x.run_id });
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "limit_rates",
                schema: "scheduler");

            migrationBuilder.DropTable(
                name: "limit_slots",
                schema: "scheduler");

            migrationBuilder.DropColumn(
                name: "max_concurrency",
                schema: "scheduler",
                table: "targets");

            migrationBuilder.DropColumn(
                name: "rate_limit_per_second",
                schema: "scheduler",
                table: "targets");

            migrationBuilder.DropColumn(
                name: "limit_turn_at",
                schema: "scheduler",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "limit_wait_since",
                schema: "scheduler",
                table: "runs");
        }
    }
}
