using Scheduler.Core.Jobs;
using Scheduler.Core.Model;
using Scheduler.Worker.Runs;

namespace Scheduler.Tests.Worker.Runs;

public sealed class JobVerdictTests
{
    private static readonly DateTimeOffset RetryAt = new(2026, 12, 4, 12, 0, 5, 250, TimeSpan.Zero);

    private static AttemptEnd Success(long id) => new(id, RunStatus.Success, null, null, 1, 3, null);

    private static AttemptEnd Failure(long id, DateTimeOffset? retryAt = null) =>
        new(id, RunStatus.Failed, ErrorType.Http4xx, "HTTP 404 Not Found (expected a 2xx status).", 1, 3, retryAt);

    [Test]
    public void Successes_skips_and_runs_without_an_attempt_report_nothing() =>
        Assert.That(JobVerdict.Of([Success(1), null, new AttemptEnd(3, RunStatus.Skipped, null, "late", 1, 3, null)]), Is.Null);

    [Test]
    public void A_lone_run_that_ended_unsuccessfully_fails_the_job_with_its_error_and_pages()
    {
        var failed = Assert.Throws<RunsFailedException>(() => JobVerdict.Of([Failure(7)]))!;
        Assert.That(failed.Message, Is.EqualTo(
            "Run #7 ended FAILED after attempt 1 of 3: http_4xx, HTTP 404 Not Found (expected a 2xx status). See /hangfire/runs/7 (API: GET /runs/7)."));
        Assert.That(failed.RunIds, Is.EqualTo(new[] { 7L }));
        Assert.That(failed.StackTrace, Is.Null, "Hangfire shows the message, not our frames");
    }

    [Test]
    public void A_batch_names_only_its_failed_runs_and_those_that_will_be_retried()
    {
        var failed = Assert.Throws<RunsFailedException>(() => JobVerdict.Of([Success(1), Failure(2), Success(3), Failure(4, RetryAt), Failure(5)]))!;
        Assert.That(failed.RunIds, Is.EqualTo(new[] { 2L, 5L }));
        Assert.That(failed.Message, Does.StartWith("2 of 5 runs ended unsuccessfully: #2 FAILED after attempt 1 of 3: http_4xx, HTTP 404"));
        Assert.That(failed.Message, Does.Contain("(expected a 2xx status); #5 FAILED after attempt 1 of 3:"));
        Assert.That(failed.Message, Does.EndWith("1 of 5 runs failed an attempt and will be retried: #4 attempt 1 of 3 (http_4xx, HTTP 404 Not Found (expected a 2xx status)), next at 2026-12-04 12:00:05.250Z."));
    }

    [Test]
    public void A_failed_attempt_with_a_retry_leaves_the_job_succeeded_saying_when() =>
        Assert.That(JobVerdict.Of([Failure(9, RetryAt)]),
            Is.EqualTo("Run #9 attempt 1 of 3 failed (http_4xx, HTTP 404 Not Found (expected a 2xx status)); next attempt at 2026-12-04 12:00:05.250Z."));

    [Test]
    public void A_large_batch_names_twenty_failed_runs_and_counts_the_rest()
    {
        var failed = Assert.Throws<RunsFailedException>(() => JobVerdict.Of(Enumerable.Range(1, 200).Select(i => (AttemptEnd?)Failure(i)).ToArray()))!;
        Assert.That(failed.RunIds, Has.Count.EqualTo(200));
        Assert.That(failed.Message, Does.Contain("#20 FAILED").And.Not.Contain("#21 FAILED").And.Contain("; and 180 more."));
    }
}
