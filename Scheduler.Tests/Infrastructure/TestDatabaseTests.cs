namespace Scheduler.Tests.Infrastructure;

/// <summary>The reset before each test leaves nothing of an earlier test that could delay this one.</summary>
public sealed class TestDatabaseTests
{
    [Test]
    public async Task A_reset_leaves_no_earlier_job_in_Hangfires_scheduled_set()
    {
        // An earlier test's job waiting in the scheduled set, already due: the reset truncates the job, and a
        // worker's DelayedJobScheduler would spend 10 s looking for it before every job due after it.
        await TestDatabase.ExecuteAsync("INSERT INTO hangfire.set (key, value, score) VALUES ('schedule', '-1', 0)");

        await TestDatabase.ResetAsync();

        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM hangfire.set WHERE key = 'schedule'"), Is.Zero);
    }
}
