using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Scheduler.Core.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class CompletionCallback : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_runs_active",
                schema: "scheduler",
                table: "runs");

            migrationBuilder.DropCheckConstraint(
                name: "ck_runs_status",
                schema: "scheduler",
                table: "runs");

            migrationBuilder.DropCheckConstraint(
                name: "ck_attempts_status",
                schema: "scheduler",
                table: "attempts");

            migrationBuilder.AddColumn<string>(
                name: "completion",
                schema: "scheduler",
                table: "targets",
                type: "character varying(32)",
                maxLength: 32,
                nullable: false,
                defaultValue: "response");

            migrationBuilder.AddColumn<int>(
                name: "completion_timeout_seconds",
                schema: "scheduler",
                table: "targets",
                type: "integer",
                nullable: false,
                defaultValue: 3600);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "completion_deadline_at",
                schema: "scheduler",
                table: "runs",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "completion_message",
                schema: "scheduler",
                table: "runs",
                type: "character varying(4000)",
                maxLength: 4000,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "completion_status",
                schema: "scheduler",
                table: "runs",
                type: "character varying(32)",
                maxLength: 32,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "output",
                schema: "scheduler",
                table: "runs",
                type: "jsonb",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "completion_token_hash",
                schema: "scheduler",
                table: "attempts",
                type: "bytea",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_runs_active",
                schema: "scheduler",
                table: "runs",
                column: "schedule_id",
                filter: "status IN ('PENDING', 'RUNNING', 'WAITING')");

            migrationBuilder.AddCheckConstraint(
                name: "ck_runs_status",
                schema: "scheduler",
                table: "runs",
                sql: "status IN ('PENDING', 'RUNNING', 'WAITING', 'SUCCESS', 'FAILED', 'TIMEOUT', 'DNS_ERROR', 'CONNECTION_ERROR', 'SKIPPED', 'CANCELLED')");

            migrationBuilder.AddCheckConstraint(
                name: "ck_attempts_status",
                schema: "scheduler",
                table: "attempts",
                sql: "status IN ('RUNNING', 'WAITING', 'SUCCESS', 'FAILED', 'TIMEOUT', 'DNS_ERROR', 'CONNECTION_ERROR', 'LOST', 'INTERRUPTED')");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_runs_active",
                schema: "scheduler",
                table: "runs");

            migrationBuilder.DropCheckConstraint(
                name: "ck_runs_status",
                schema: "scheduler",
                table: "runs");

            migrationBuilder.DropCheckConstraint(
                name: "ck_attempts_status",
                schema: "scheduler",
                table: "attempts");

            migrationBuilder.DropColumn(
                name: "completion",
                schema: "scheduler",
                table: "targets");

            migrationBuilder.DropColumn(
                name: "completion_timeout_seconds",
                schema: "scheduler",
                table: "targets");

            migrationBuilder.DropColumn(
                name: "completion_deadline_at",
                schema: "scheduler",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "completion_message",
                schema: "scheduler",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "completion_status",
                schema: "scheduler",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "output",
                schema: "scheduler",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "completion_token_hash",
                schema: "scheduler",
                table: "attempts");

            migrationBuilder.CreateIndex(
                name: "ix_runs_active",
                schema: "scheduler",
                table: "runs",
                column: "schedule_id",
                filter: "status IN ('PENDING', 'RUNNING')");

            migrationBuilder.AddCheckConstraint(
                name: "ck_runs_status",
                schema: "scheduler",
                table: "runs",
                sql: "status IN ('PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT', 'DNS_ERROR', 'CONNECTION_ERROR', 'SKIPPED', 'CANCELLED')");

            migrationBuilder.AddCheckConstraint(
                name: "ck_attempts_status",
                schema: "scheduler",
                table: "attempts",
                sql: "status IN ('RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT', 'DNS_ERROR', 'CONNECTION_ERROR', 'LOST', 'INTERRUPTED')");
        }
    }
}
