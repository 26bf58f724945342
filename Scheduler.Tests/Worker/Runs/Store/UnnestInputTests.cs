using NpgsqlTypes;
using Scheduler.Core.Model;
using Scheduler.Worker.Runs.Store;

namespace Scheduler.Tests.Worker.Runs.Store;

public sealed class UnnestInputTests
{
    [Test]
    public void The_unnest_and_its_placeholders_follow_the_declared_columns()
    {
        var input = new UnnestInput<(long Id, string Name)>()
            .Column("run_id", "bigint", NpgsqlDbType.Bigint, r => r.Id)
            .Column("name", "text", NpgsqlDbType.Text, r => r.Name);
        Assert.Multiple(() =>
        {
            Assert.That(input.Sql, Is.EqualTo("unnest($1::bigint[], $2::text[]) AS i(run_id, name)"));
            Assert.That(input.Placeholder("name"), Is.EqualTo("$2"));
            Assert.That(input.After(1), Is.EqualTo("$3"));
        });
    }

    [Test]
    public void Status_literals_are_wire_names_quoted() => Assert.Multiple(() =>
    {
        Assert.That(Sql.UnfinishedRuns, Is.EqualTo("'PENDING', 'RUNNING', 'WAITING'"));
        Assert.That(Sql.Literal(RunStatus.DnsError), Is.EqualTo("'DNS_ERROR'"));
        Assert.That(Sql.Literal(ErrorType.WorkerLost), Is.EqualTo("'worker_lost'"));
    });
}
