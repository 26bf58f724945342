using System.Text.Json;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Scheduler.Core.Persistence;

/// <summary>
/// The <c>scheduler</c> schema: targets, schedules, runs, attempts, callback deliveries. Names are
/// snake_case; enums are stored with their <see cref="WireName"/>, so SQL reads like the API.
/// </summary>
public sealed class SchedulerDbContext(DbContextOptions<SchedulerDbContext> options) : DbContext(options), IDataProtectionKeyContext
{
    public const string Schema = "scheduler";

    /// <summary>The unique index on a live schedule's (source, external_key); a violation of it means the key is taken.</summary>
    public const string ExternalKeyIndex = "ix_schedules_source_external_key";

    /// <summary>The unique index on a continuation run's (parent_run_id, schedule_id): one run per parent and continuation.</summary>
    public const string ContinuationRunIndex = "ix_runs_parent_run_id_schedule_id";

    public DbSet<Target> Targets => Set<Target>();

    public DbSet<Schedule> Schedules => Set<Schedule>();

    public DbSet<Run> Runs => Set<Run>();

    public DbSet<ScheduleContinuation> ScheduleContinuations => Set<ScheduleContinuation>();

    public DbSet<Attempt> Attempts => Set<Attempt>();

    public DbSet<CallbackDelivery> CallbackDeliveries => Set<CallbackDelivery>();

    public DbSet<JobType> JobTypes => Set<JobType>();

    public DbSet<ReconciliationRecord> Reconciliations => Set<ReconciliationRecord>();

    /// <summary>The Data Protection key ring that encrypts stored secrets, shared by every process.</summary>
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        ArgumentNullException.ThrowIfNull(configurationBuilder);
        foreach (var enumType in new[]
                 {
                     typeof(ScheduleType), typeof(ScheduleStatus), typeof(RunStatus), typeof(AttemptStatus),
                     typeof(ErrorType), typeof(RunTrigger), typeof(OverlapPolicy), typeof(CatchUpPolicy),
                     typeof(DeliveryKind), typeof(DeliveryStatus), typeof(CompletionMode), typeof(ContinuationWhen),
                 })
        {
            configurationBuilder.Properties(enumType)
                .HaveConversion(typeof(WireNameConverter<>).MakeGenericType(enumType))
                .HaveMaxLength(32);
        }
        configurationBuilder.Properties<Dictionary<string, string>>()
            .HaveConversion<JsonDictionaryConverter, JsonDictionaryComparer>()
            .HaveColumnType("jsonb");
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        modelBuilder.HasDefaultSchema(Schema);

        modelBuilder.Entity<Target>(target =>
        {
            target.Property(t => t.Id).UseIdentityAlwaysColumn();
            target.Property(t => t.Name).HasMaxLength(200);
            target.Property(t => t.Url).HasMaxLength(2048);
            target.Property(t => t.Method).HasMaxLength(16);
            target.Property(t => t.SigningSecret).HasMaxLength(1024);
            // Names are unique among live targets; a deleted target's name may be used again.
            target.HasIndex(t => t.Name).IsUnique().HasFilter("name IS NOT NULL AND deleted_at IS NULL");
        });

        modelBuilder.Entity<Schedule>(schedule =>
        {
            schedule.Property(s => s.Id).UseIdentityAlwaysColumn();
            schedule.Property(s => s.Name).HasMaxLength(200);
            schedule.Property(s => s.JobName).HasMaxLength(200);
            schedule.Property(s => s.JobArgs).HasColumnType("jsonb");
            schedule.Property(s => s.Type).HasColumnName("schedule_type");
            schedule.Property(s => s.CronExpression).HasMaxLength(200);
            schedule.Property(s => s.TimeZone).HasMaxLength(100);
            schedule.Property(s => s.CallbackUrl).HasMaxLength(2048);
            schedule.Property(s => s.ErrorCallbackUrl).HasMaxLength(2048);
            schedule.Property(s => s.Source).HasMaxLength(32);
            schedule.Property(s => s.ExternalKey).HasMaxLength(400);
            schedule.Property(s => s.ExternalData).HasColumnType("jsonb");
            schedule.Property(s => s.CreatedBy).HasMaxLength(200);
            schedule.Property(s => s.Version).IsRowVersion();
            schedule.HasOne(s => s.Target).WithMany().HasForeignKey(s => s.TargetId).OnDelete(DeleteBehavior.Restrict);
            // The dispatcher's scan: live active schedules by next due time.
            schedule.HasIndex(s => s.NextRunAt).HasDatabaseName("ix_schedules_due")
                .HasFilter($"status = {Sql.Literal(ScheduleStatus.Active)} AND deleted_at IS NULL");
            // The quota's count: a key's schedules that can still run, from the index alone.
            schedule.HasIndex(s => s.CreatedBy).HasDatabaseName("ix_schedules_created_by_active")
                .HasFilter($"status IN ({Sql.Literals(ScheduleStatus.Active, ScheduleStatus.Paused)}) AND deleted_at IS NULL");
            // An adapter's key names one live schedule (a callme name@time, a task name): concurrent writers
            // cannot both take it, whatever they read first.
            schedule.HasIndex(s => new { s.Source, s.ExternalKey }).HasDatabaseName(ExternalKeyIndex).IsUnique()
                .HasFilter("external_key IS NOT NULL AND deleted_at IS NULL");
            schedule.ToTable(t =>
            {
                CheckEnum<ScheduleType>(t, "schedules", "schedule_type");
                CheckEnum<ScheduleStatus>(t, "schedules", "status");
                t.HasCheckConstraint("ck_schedules_what", "target_id IS NOT NULL OR job_name IS NOT NULL");
            });
        });

        modelBuilder.Entity<ScheduleContinuation>(continuation =>
        {
            continuation.ToTable("schedule_continuations");
            // The key leads with the finishing schedule: the finish statement's join and the cycle check's walk
            // both look continuations up by it.
            continuation.HasKey(c => new { c.ScheduleId, c.NextScheduleId });
            // "when" is an SQL keyword.
            continuation.Property(c => c.When).HasColumnName("fires_when");
            continuation.HasOne<Schedule>().WithMany(s => s.Continuations).HasForeignKey(c => c.ScheduleId).OnDelete(DeleteBehavior.Cascade);
            continuation.HasOne<Schedule>().WithMany().HasForeignKey(c => c.NextScheduleId).OnDelete(DeleteBehavior.Restrict);
            continuation.ToTable(t => CheckEnum<ContinuationWhen>(t, "schedule_continuations", "fires_when"));
        });

        modelBuilder.Entity<Run>(run =>
        {
            run.Property(r => r.Id).UseIdentityAlwaysColumn();
            run.HasOne(r => r.Schedule).WithMany().HasForeignKey(r => r.ScheduleId).OnDelete(DeleteBehavior.Cascade);
            run.HasMany(r => r.Attempts).WithOne().HasForeignKey(a => a.RunId).OnDelete(DeleteBehavior.Cascade);
            run.HasMany(r => r.CallbackDeliveries).WithOne().HasForeignKey(d => d.RunId).OnDelete(DeleteBehavior.Cascade);
            run.Property(r => r.HangfireJobId).HasMaxLength(64);
            run.Property(r => r.LeaseOwner).HasMaxLength(200);
            run.Property(r => r.Output).HasColumnType("jsonb");
            run.Property(r => r.CompletionMessage).HasMaxLength(CompletionLimits.MaxMessageLength);
            // One occurrence of a schedule makes one run, however many workers race to create it.
            run.HasIndex(r => new { r.ScheduleId, r.DueAt }).IsUnique();
            // A finished run starts each of its continuations once, whoever records it (its worker, another after a
            // crash, reconciliation): inserts of continuation runs meet here. Partial, so other runs do not pay for it.
            run.HasIndex(r => new { r.ParentRunId, r.ScheduleId }).IsUnique().HasDatabaseName(ContinuationRunIndex)
                .HasFilter("parent_run_id IS NOT NULL");
            // Reconciliation and the runs list scan by state and time.
            run.HasIndex(r => new { r.Status, r.DueAt });
            // Overlap checks: the runs of a schedule still going.
            run.HasIndex(r => r.ScheduleId).HasDatabaseName("ix_runs_active")
                .HasFilter($"status IN ({Sql.UnfinishedRuns})");
            run.ToTable(t =>
            {
                CheckEnum<RunStatus>(t, "runs", "status");
                CheckEnum<RunTrigger>(t, "runs", "trigger");
            });
        });

        modelBuilder.Entity<Attempt>(attempt =>
        {
            attempt.Property(a => a.Id).UseIdentityAlwaysColumn();
            attempt.Property(a => a.Worker).HasMaxLength(200);
            attempt.HasIndex(a => new { a.RunId, a.AttemptNumber }).IsUnique();
            attempt.ToTable(t => CheckEnum<AttemptStatus>(t, "attempts", "status"));
        });

        modelBuilder.Entity<ReconciliationRecord>(reconciliation =>
        {
            reconciliation.ToTable("reconciliations");
            reconciliation.Property(r => r.Id).UseIdentityAlwaysColumn();
            reconciliation.Property(r => r.Trigger).HasMaxLength(32);
            reconciliation.Property(r => r.Details).HasColumnType("jsonb");
            reconciliation.HasIndex(r => r.FinishedAt);
        });

        modelBuilder.Entity<JobType>(jobType =>
        {
            jobType.HasKey(j => j.Name);
            jobType.Property(j => j.Name).HasMaxLength(200);
            jobType.Property(j => j.ArgsExample).HasColumnType("jsonb");
            jobType.Property(j => j.ArgsSpec).HasColumnType("jsonb");
        });

        modelBuilder.Entity<LimitRate>(rate =>
        {
            rate.ToTable("limit_rates");
            rate.HasKey(r => r.LimitKey);
            rate.Property(r => r.LimitKey).HasMaxLength(300);
        });

        modelBuilder.Entity<LimitSlot>(slot =>
        {
            slot.ToTable("limit_slots");
            slot.HasKey(s => new { s.LimitKey, s.RunId });
            slot.Property(s => s.LimitKey).HasMaxLength(300);
            slot.Property(s => s.Worker).HasMaxLength(200);
        });

        modelBuilder.Entity<CallbackDelivery>(delivery =>
        {
            delivery.Property(d => d.Id).UseIdentityAlwaysColumn();
            delivery.Property(d => d.Url).HasMaxLength(2048);
            delivery.Property(d => d.HangfireJobId).HasMaxLength(64);
            delivery.HasIndex(d => new { d.Status, d.NextAttemptAt });
            delivery.ToTable(t => CheckEnum<DeliveryStatus>(t, "callback_deliveries", "status"));
        });
    }

    private static void CheckEnum<TEnum>(TableBuilder table, string tableName, string column) where TEnum : struct, Enum
    {
        var values = string.Join(", ", WireName.Values<TEnum>().Select(v => $"'{v}'"));
        table.HasCheckConstraint($"ck_{tableName}_{column}", $"{column} IN ({values})");
    }

    private sealed class WireNameConverter<TEnum>() : ValueConverter<TEnum, string>(
        value => WireName.Of(value), wire => WireName.Parse<TEnum>(wire))
        where TEnum : struct, Enum;

    private sealed class JsonDictionaryConverter() : ValueConverter<Dictionary<string, string>, string>(
        value => JsonSerializer.Serialize(value, (JsonSerializerOptions?)null),
        json => JsonSerializer.Deserialize<Dictionary<string, string>>(json, (JsonSerializerOptions?)null) ?? new Dictionary<string, string>());

    private sealed class JsonDictionaryComparer() : ValueComparer<Dictionary<string, string>>(
        (a, b) => a == null ? b == null : b != null && a.Count == b.Count && !a.Except(b).Any(),
        d => d.Aggregate(0, (hash, pair) => HashCode.Combine(hash, pair.Key, pair.Value)),
        d => new Dictionary<string, string>(d));
}
