using System.Net.Http.Headers;
using Scheduler.Core.Hosting;
using Scheduler.Worker.Execution;

namespace Scheduler.Tests.Worker.Execution;

public sealed class RetryPolicyTests
{
    private static readonly ExecutionOptions Options = new();

    [TestCase(1, 2.0)]
    [TestCase(2, 4.0)]
    [TestCase(3, 8.0)]
    [TestCase(10, 60.0)]
    public void Backoff_doubles_from_the_initial_interval_up_to_the_cap_with_jitter(int attemptsMade, double centre)
    {
        var random = new Random(7);
        var delays = Enumerable.Range(0, 200).Select(_ => RetryPolicy.Delay(attemptsMade, 2, 60, null, Options, random).TotalSeconds).ToList();
        Assert.That(delays, Has.All.InRange(centre * 0.8, centre * 1.2));
        Assert.That(delays.Distinct().Count(), Is.GreaterThan(100), "jittered");
    }

    [Test]
    public void Retry_after_is_honoured_as_seconds_or_a_date_and_capped()
    {
        var now = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        Assert.Multiple(() =>
        {
            Assert.That(RetryPolicy.RetryAfter(new RetryConditionHeaderValue(TimeSpan.FromSeconds(7)), now), Is.EqualTo(TimeSpan.FromSeconds(7)));
            Assert.That(RetryPolicy.RetryAfter(new RetryConditionHeaderValue(now.AddSeconds(30)), now), Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(RetryPolicy.RetryAfter("Mon, 23 Nov 2026 12:01:00 GMT", now), Is.EqualTo(TimeSpan.FromMinutes(1)));
            Assert.That(RetryPolicy.Delay(1, 2, 60, TimeSpan.FromSeconds(5), Options, new Random(1)), Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(RetryPolicy.Delay(1, 2, 60, TimeSpan.FromDays(3), Options, new Random(1)), Is.EqualTo(TimeSpan.FromSeconds(Options.MaxRetryAfterSeconds)));
        });
    }

    [TestCase(500, true)]
    [TestCase(503, true)]
    [TestCase(429, true)]
    [TestCase(408, true)]
    [TestCase(404, false)]
    [TestCase(400, false)]
    [TestCase(301, false)]
    public void Network_errors_timeouts_408_429_and_5xx_retry_other_statuses_do_not(int status, bool retried) =>
        Assert.That(Options.RetriesStatus(status), Is.EqualTo(retried));
}
