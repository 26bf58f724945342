using Npgsql;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// A database of its own for every test fixture, so that fixtures can run side by side (two at a time, see
/// <c>TestAssemblySetup</c>): a fixture's processes, rows, Hangfire jobs, advisory locks and notifications are
/// then invisible to the others, as PostgreSQL scopes each of those to one database. The first time a fixture
/// asks for its connection string, the database is copied from a migrated template (<c>CREATE DATABASE …
/// TEMPLATE</c>, instead of migrating each). Code outside any fixture (the assembly's setup) gets the default
/// database, which is migrated too.
/// </summary>
/// <remarks>
/// The template is migrated once and never connected to again, as PostgreSQL copies a database only while no
/// one is connected to it. The fixtures' databases live as long as the server: a throwaway cluster or
/// container is removed after the run, and on a server given in <c>SCHEDULER_TEST_DATABASE</c> they are
/// dropped when the run ends (<see cref="DropCreatedAsync"/>), so that role must be allowed to create databases.
/// </remarks>
internal static class FixtureDatabases
{
    private static readonly Lock s_lock = new();
    // Each fixture's database's connection string, by the fixture's id.
    private static readonly Dictionary<string, string> s_byFixture = [];
    private static string? s_default;

    /// <summary>The default database's connection string, as the server gives it.</summary>
    public static string Default => s_default ?? throw new InvalidOperationException("PostgreSQL has not been started (TestAssemblySetup did not run).");

    /// <summary>
    /// Migrates the default database and the template side by side with <paramref name="migrate"/>, then serves
    /// copies of the template.
    /// </summary>
    public static async Task PrepareAsync(string defaultConnectionString, Func<string, Task> migrate)
    {
        var template = new NpgsqlConnectionStringBuilder(defaultConnectionString) { Database = TemplateName(defaultConnectionString) }.ConnectionString;
        try
        {
            await Task.WhenAll(migrate(defaultConnectionString), migrate(template));
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw CannotCreate(ex);
        }
        // The migration's pooled connections to the template would block every copy of it.
        NpgsqlConnection.ClearAllPools();
        s_default = defaultConnectionString;
    }

    /// <summary>The connection string of the running fixture's database, made on first use; the default outside a fixture.</summary>
    public static string Current()
    {
        var fixture = FixtureOf(TestExecutionContext.CurrentContext.CurrentTest);
        if (fixture is null)
        {
            return Default;
        }
        lock (s_lock)
        {
            if (!s_byFixture.TryGetValue(fixture.Id, out var connectionString))
            {
                connectionString = Create();
                s_byFixture[fixture.Id] = connectionString;
            }
            return connectionString;
        }
    }

    private static ITest? FixtureOf(Test? current)
    {
        for (ITest? test = current; test is not null; test = test.Parent)
        {
            if (test is TestFixture)
            {
                return test;
            }
        }
        return null;
    }

    private static string Create()
    {
        var name = $"{new NpgsqlConnectionStringBuilder(Default).Database}_{s_byFixture.Count + 1}";
        using var connection = new NpgsqlConnection(Maintenance());
        connection.Open();
        using var command = new NpgsqlCommand($"CREATE DATABASE {Quoted(name)} TEMPLATE {Quoted(TemplateName(Default))}", connection);
        try
        {
            command.ExecuteNonQuery();
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw CannotCreate(ex);
        }
        return new NpgsqlConnectionStringBuilder(Default) { Database = name }.ConnectionString;
    }

    /// <summary>The error for a role that may not create the template or a fixture's database.</summary>
    private static InvalidOperationException CannotCreate(PostgresException ex) => new(
        "The tests give each fixture a database of its own, copied from a template: the role of SCHEDULER_TEST_DATABASE " +
        $"must be allowed to create databases (ALTER ROLE … CREATEDB). {ex.MessageText}", ex);

    /// <summary>Drops the fixtures' databases and the template (on a server the run does not throw away).</summary>
    public static async Task DropCreatedAsync()
    {
        if (s_default is null)
        {
            return;
        }
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(Maintenance());
        await connection.OpenAsync();
        List<string> names;
        lock (s_lock)
        {
            names = [.. s_byFixture.Values.Select(c => new NpgsqlConnectionStringBuilder(c).Database!), TemplateName(Default)];
        }
        foreach (var name in names)
        {
            await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Quoted(name)} WITH (FORCE)", connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    // Copies and drops are run from the default database (a given server may not let the role into "postgres").
    private static string Maintenance() => new NpgsqlConnectionStringBuilder(Default) { Pooling = false }.ConnectionString;

    private static string Quoted(string name) => $"\"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    private static string TemplateName(string connectionString) => $"{new NpgsqlConnectionStringBuilder(connectionString).Database}_template";
}
