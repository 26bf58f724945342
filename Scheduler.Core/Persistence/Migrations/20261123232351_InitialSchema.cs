using System;
using System.Collections.Generic;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Scheduler.Core.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class InitialSchema : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.EnsureSchema(
                name: "scheduler");

            migrationBuilder.CreateTable(
                name: "job_types",
                schema: "scheduler",
                columns: table => new
                {
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    description = table.Column<string>(type: "text", nullable: true),
                    args_example = table.Column<string>(type: "jsonb", nullable: true),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_job_types", x => x.name);
                });

            migrationBuilder.CreateTable(
                name: "targets",
                schema: "scheduler",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    inline = table.Column<bool>(type: "boolean", nullable: false),
                    url = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: false),
                    method = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    headers = table.Column<string>(type: "jsonb", nullable: false),
                    body_template = table.Column<string>(type: "text", nullable: true),
                    timeout_seconds = table.Column<int>(type: "integer", nullable: false),
                    signing_secret = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    deleted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_targets", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "schedules",
                schema: "scheduler",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    target_id = table.Column<long>(type: "bigint", nullable: true),
                    job_name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    job_args = table.Column<string>(type: "jsonb", nullable: true),
                    schedule_type = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    run_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    interval_seconds = table.Column<int>(type: "integer", nullable: true),
                    duration_seconds = table.Column<int>(type: "integer", nullable: true),
                    start_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    end_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    cron_expression = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    time_zone = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    next_run_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_run_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    overlap_policy = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    catch_up_policy = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    expected_http_status = table.Column<int[]>(type: "integer[]", nullable: false),
                    max_attempts = table.Column<int>(type: "integer", nullable: true),
                    retry_initial_interval_seconds = table.Column<int>(type: "integer", nullable: true),
                    retry_max_interval_seconds = table.Column<int>(type: "integer", nullable: true),
                    max_delay_seconds = table.Column<int>(type: "integer", nullable: true),
                    callback_url = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: true),
                    error_callback_url = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: true),
                    callback_headers = table.Column<string>(type: "jsonb", nullable: false),
                    no_response = table.Column<bool>(type: "boolean", nullable: false),
                    reference_id = table.Column<string>(type: "text", nullable: true),
                    ref_doctype = table.Column<string>(type: "text", nullable: true),
                    ref_docname = table.Column<string>(type: "text", nullable: true),
                    tag = table.Column<string>(type: "text", nullable: true),
                    source = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    external_key = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: true),
                    remarks = table.Column<List<string>>(type: "text[]", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    deleted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    xmin = table.Column<uint>(type: "xid", rowVersion: true, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_schedules", x => x.id);
                    table.CheckConstraint("ck_schedules_schedule_type", "schedule_type IN ('IMMEDIATE', 'ONCE', 'INTERVAL', 'WINDOW', 'CRON')");
                    table.CheckConstraint("ck_schedules_status", "status IN ('ACTIVE', 'PAUSED', 'STOPPED', 'COMPLETED')");
                    table.CheckConstraint("ck_schedules_what", "target_id IS NOT NULL OR job_name IS NOT NULL");
                    table.ForeignKey(
                        name: "fk_schedules_targets_target_id",
                        column: x => x.target_id,
                        principalSchema: "scheduler",
                        principalTable: "targets",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "runs",
                schema: "scheduler",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    schedule_id = table.Column<long>(type: "bigint", nullable: false),
                    due_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    trigger = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    attempt_count = table.Column<int>(type: "integer", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    completed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    latency_ms = table.Column<double>(type: "double precision", nullable: true),
                    lateness_ms = table.Column<double>(type: "double precision", nullable: true),
                    status_code = table.Column<int>(type: "integer", nullable: true),
                    response_size_bytes = table.Column<long>(type: "bigint", nullable: true),
                    response_excerpt = table.Column<string>(type: "text", nullable: true),
                    error_type = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    error_message = table.Column<string>(type: "text", nullable: true),
                    stack_trace = table.Column<string>(type: "text", nullable: true),
                    remarks = table.Column<List<string>>(type: "text[]", nullable: false),
                    hangfire_job_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    lease_owner = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    lease_expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    next_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    callback_status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    retry_requested = table.Column<bool>(type: "boolean", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_runs", x => x.id);
                    table.CheckConstraint("ck_runs_status", "status IN ('PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT', 'DNS_ERROR', 'CONNECTION_ERROR', 'SKIPPED', 'CANCELLED')");
                    table.CheckConstraint("ck_runs_trigger", "trigger IN ('SCHEDULED', 'IMMEDIATE', 'MANUAL', 'CATCH_UP')");
                    table.ForeignKey(
                        name: "fk_runs_schedules_schedule_id",
                        column: x => x.schedule_id,
                        principalSchema: "scheduler",
                        principalTable: "schedules",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "attempts",
                schema: "scheduler",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    run_id = table.Column<long>(type: "bigint", nullable: false),
                    schedule_id = table.Column<long>(type: "bigint", nullable: false),
                    attempt_number = table.Column<int>(type: "integer", nullable: false),
                    status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    manual = table.Column<bool>(type: "boolean", nullable: false),
                    worker = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    completed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    status_code = table.Column<int>(type: "integer", nullable: true),
                    latency_ms = table.Column<double>(type: "double precision", nullable: true),
                    response_size_bytes = table.Column<long>(type: "bigint", nullable: true),
                    error_type = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    error_message = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_attempts", x => x.id);
                    table.CheckConstraint("ck_attempts_status", "status IN ('RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT', 'DNS_ERROR', 'CONNECTION_ERROR', 'LOST', 'INTERRUPTED')");
                    table.ForeignKey(
                        name: "fk_attempts_runs_run_id",
                        column: x => x.run_id,
                        principalSchema: "scheduler",
                        principalTable: "runs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "callback_deliveries",
                schema: "scheduler",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    run_id = table.Column<long>(type: "bigint", nullable: false),
                    schedule_id = table.Column<long>(type: "bigint", nullable: false),
                    kind = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    url = table.Column<string>(type: "character varying(2048)", maxLength: 2048, nullable: false),
                    status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    attempt_count = table.Column<int>(type: "integer", nullable: false),
                    status_code = table.Column<int>(type: "integer", nullable: true),
                    error_message = table.Column<string>(type: "text", nullable: true),
                    next_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    delivered_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    latency_ms = table.Column<double>(type: "double precision", nullable: true),
                    hangfire_job_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_callback_deliveries", x => x.id);
                    table.CheckConstraint("ck_callback_deliveries_status", "status IN ('PENDING', 'DELIVERED', 'FAILED')");
                    table.ForeignKey(
                        name: "fk_callback_deliveries_runs_run_id",
                        column: x => x.run_id,
                        principalSchema: "scheduler",
                        principalTable: "runs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_attempts_run_id_attempt_number",
                schema: "scheduler",
                table: "attempts",
                columns: new[] { "run_id", "attempt_number" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_callback_deliveries_run_id",
                schema: "scheduler",
                table: "callback_deliveries",
                column: "run_id");

            migrationBuilder.CreateIndex(
                name: "ix_callback_deliveries_status_next_attempt_at",
                schema: "scheduler",
                table: "callback_deliveries",
                columns: new[] { "status", "next_attempt_at" });

            migrationBuilder.CreateIndex(
                name: "ix_runs_active",
                schema: "scheduler",
                table: "runs",
                column: "schedule_id",
                filter: "status IN ('PENDING', 'RUNNING')");

            migrationBuilder.CreateIndex(
                name: "ix_runs_schedule_id_due_at",
                schema: "scheduler",
                table: "runs",
                columns: new[] { "schedule_id", "due_at" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_runs_status_due_at",
                schema: "scheduler",
                table: "runs",
                columns: new[] { "status", "due_at" });

            migrationBuilder.CreateIndex(
                name: "ix_schedules_due",
                schema: "scheduler",
                table: "schedules",
                column: "next_run_at",
                filter: "status = 'ACTIVE' AND deleted_at IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_schedules_source_external_key",
                schema: "scheduler",
                table: "schedules",
                columns: new[] { "source", "external_key" });

            migrationBuilder.CreateIndex(
                name: "ix_schedules_target_id",
                schema: "scheduler",
                table: "schedules",
                column: "target_id");

            migrationBuilder.CreateIndex(
                name: "ix_targets_name",
                schema: "scheduler",
                table: "targets",
                column: "name",
                unique: true,
                filter: "name IS NOT NULL AND deleted_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "attempts",
                schema: "scheduler");

            migrationBuilder.DropTable(
                name: "callback_deliveries",
                schema: "scheduler");

            migrationBuilder.DropTable(
                name: "job_types",
                schema: "scheduler");

            migrationBuilder.DropTable(
                name: "runs",
                schema: "scheduler");

            migrationBuilder.DropTable(
                name: "schedules",
                schema: "scheduler");

            migrationBuilder.DropTable(
                name: "targets",
                schema: "scheduler");
        }
    }
}
