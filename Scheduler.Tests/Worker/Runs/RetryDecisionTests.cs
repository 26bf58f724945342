using Microsoft.Extensions.Options;
using Scheduler.Core.Hosting;
using Scheduler.Core.Model;
using Scheduler.Worker.Execution;
using Scheduler.Worker.Runs;

namespace Scheduler.Tests.Worker.Runs;

public sealed class RetryDecisionTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly RetryDecision Decision = new(Options.Create(new ExecutionOptions { RetryMaxAttempts = 3, RetryInitialIntervalSeconds = 10 }));

    private static readonly RunPlan Plan = new(1, 2, Now, RunStatus.Running, ScheduleType.Interval, OverlapPolicy.Allow, [], false, null,
        "https://example.com/", "GET", new Dictionary<string, string>(), null, 30, 0)
    {
        CallbackUrl = "https://example.com/callback",
        ErrorCallbackUrl = "https://example.com/error",
    };

    private static readonly CallOutcome Unavailable = new(RunStatus.Failed, Now, Now, 5, StatusCode: 503, ErrorType: ErrorType.Http5xx);

    [Test]
    public void A_retryable_failure_with_attempts_left_is_retried_after_the_backoff_and_calls_back_nothing()
    {
        var consequence = Decision.Decide(Plan, new RunClaim(1, 1, 1, null), Unavailable);
        Assert.Multiple(() =>
        {
            Assert.That(consequence.RetryAt, Is.InRange(Now.AddSeconds(8), Now.AddSeconds(12)), "10 s ± 20 %");
            Assert.That(consequence.MaxAttempts, Is.EqualTo(3));
            Assert.That(consequence.Callback, Is.Null);
        });
    }

    [Test]
    public void The_last_attempt_ends_the_run_with_the_error_callback() =>
        Assert.That(Decision.Decide(Plan, new RunClaim(1, 1, 3, null), Unavailable),
            Is.EqualTo(new AttemptConsequence(null, 3, ("https://example.com/error", DeliveryKind.Error))));

    [Test]
    public void A_manual_attempt_is_not_retried() =>
        Assert.That(Decision.Decide(Plan, new RunClaim(1, 1, 1, null, Manual: true), Unavailable).RetryAt, Is.Null);

    [Test]
    public void A_schedules_own_max_attempts_wins_and_success_calls_back() => Assert.Multiple(() =>
    {
        Assert.That(Decision.Decide(Plan with { MaxAttempts = 1 }, new RunClaim(1, 1, 1, null), Unavailable).RetryAt, Is.Null);
        Assert.That(Decision.Decide(Plan, new RunClaim(1, 1, 1, null), Unavailable with { Status = RunStatus.Success, StatusCode = 200, ErrorType = null }),
            Is.EqualTo(new AttemptConsequence(null, 3, ("https://example.com/callback", DeliveryKind.Success))));
    });
}
