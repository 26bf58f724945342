using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Operations;
using Npgsql;
using Scheduler.Core.Hosting;

namespace Scheduler.Tests.Core.Persistence;

/// <summary>
/// Only the latest two migrations keep the target model EF Core generates into their Designer file (ADR 0008).
/// That is safe while the SQL that applies or reverts a migration does not depend on the model; this generates
/// every migration's SQL both ways (no database is opened) and compares.
/// </summary>
public sealed class MigrationTargetModelTests
{
    [Test]
    public void Every_migration_writes_the_same_sql_with_or_without_its_target_model()
    {
        using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Username=unused;Database=unused");
        var builder = new DbContextOptionsBuilder<SchedulerDbContext>();
        SchedulerDbContextOptions.Configure(builder, dataSource);
        using var db = new SchedulerDbContext(builder.Options);
        var assembly = db.GetService<IMigrationsAssembly>();
        var migrations = assembly.Migrations.Select(m => (Id: m.Key, Migration: assembly.CreateMigration(m.Value, db.Database.ProviderName!))).ToList();
        var generator = db.GetService<IMigrationsSqlGenerator>();
        var initializer = db.GetService<IModelRuntimeInitializer>();
        string Sql(IReadOnlyList<MigrationOperation> operations, IModel? model) => string.Join(Environment.NewLine,
            generator.Generate(operations, model is null ? null : initializer.Initialize(model))
                .Select(command => command.CommandText));
        static int EntityTypes(Migration migration) => migration.TargetModel?.GetEntityTypes().Count() ?? 0;

        Assert.Multiple(() =>
        {
            Assert.That(migrations.TakeLast(2).Select(m => EntityTypes(m.Migration)), Has.All.GreaterThan(0),
                "the latest two migrations keep their target models (removing the latest reads the one before it)");
            Assert.That(migrations.SkipLast(2).Where(m => EntityTypes(m.Migration) > 0).Select(m => m.Id), Is.Empty,
                "an older migration's Designer file carries only its attributes: trim it as ADR 0008 says");
            for (var i = 0; i < migrations.Count; i++)
            {
                var (id, migration) = migrations[i];
                var before = i == 0 ? null : migrations[i - 1].Migration.TargetModel;
                Assert.That(Sql(migration.UpOperations, migration.TargetModel), Is.EqualTo(Sql(migration.UpOperations, null)), $"{id} applied");
                Assert.That(Sql(migration.DownOperations, before), Is.EqualTo(Sql(migration.DownOperations, null)), $"{id} reverted");
            }
        });
    }
}
