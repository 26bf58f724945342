using System.Text;
using Scheduler.Api.Schedules;

namespace Scheduler.Tests.Api.Schedules;

public sealed class RecordsetInputTests
{
    [Test]
    public void The_record_type_rows_and_insert_lists_follow_the_declared_columns()
    {
        var input = new RecordsetInput<(int Ord, string? Name, string[] Tags)>()
            .Read("ord", "int", r => r.Ord)
            .Into("targets", "name", "text", r => r.Name, name: "t_name")
            .Into("schedules", "tags", "text[]", r => r.Tags)
            .Into("schedules", "target_id", "bigint", r => (long?)null, select: "COALESCE(new_target_id, target_id)");
        Assert.Multiple(() =>
        {
            Assert.That(input.RecordType, Is.EqualTo("ord int, t_name text, tags text[], target_id bigint"));
            Assert.That(input.Columns("targets"), Is.EqualTo("name"));
            Assert.That(input.Selects("targets"), Is.EqualTo("t_name"));
            Assert.That(input.Columns("schedules"), Is.EqualTo("tags, target_id"));
            Assert.That(input.Selects("schedules"), Is.EqualTo("tags, COALESCE(new_target_id, target_id)"));
            Assert.That(Encoding.UTF8.GetString(input.ToJson([(1, "a", ["x"]), (2, null, [])]).Span),
                Is.EqualTo("""[{"ord":1,"t_name":"a","tags":["x"]},{"ord":2,"tags":[]}]"""));
        });
    }

    [Test]
    public void A_column_declared_twice_is_refused() =>
        Assert.That(() => new RecordsetInput<int>().Read("ord", "int", r => r).Into("runs", "ord", "int", r => r), Throws.InvalidOperationException);
}
