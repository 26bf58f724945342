using Microsoft.Extensions.Options;
using Npgsql;
using Scheduler.Core.Hosting;
using Scheduler.Core.Model;
using Scheduler.Worker.Execution;
using Scheduler.Worker.Runs;
using Scheduler.Worker.Runs.Store;

namespace Scheduler.Tests.Worker.Runs.Store;

/// <summary>
/// Continuations in the finish statement and in reconciliation's repair, and the cycle check, against the migrated
/// test database without processes. Schedules are STOPPED (no dispatcher touches them; a continuation still runs
/// them) unless a test needs them PAUSED.
/// </summary>
public sealed class ContinuationStatementTests : StatementTestBase
{
    [Test]
    public async Task A_success_starts_the_success_and_any_continuations_once()
    {
        var (parent, onSuccess, onFailure, onAny) = (await ScheduleAsync(), await ScheduleAsync(), await ScheduleAsync(), await ScheduleAsync());
        await ContinueAsync(parent, (onSuccess, ContinuationWhen.Success), (onFailure, ContinuationWhen.Failure), (onAny, ContinuationWhen.Any));
        var runId = await InsertRunAsync(parent);
        var claim = await ClaimAsync(runId);
        var finishes = new RunFinishStatement(Database);

        var (recorded, _, started) = await FinishAsync(finishes, claim, parent, RunStatus.Success, retryAt: null);
        var again = await FinishAsync(finishes, claim, parent, RunStatus.Success, retryAt: null);

        Assert.Multiple(async () =>
        {
            Assert.That(recorded, Is.True);
            Assert.That(started.Select(r => r.ScheduleId), Is.EquivalentTo(new[] { onSuccess, onAny }));
            Assert.That(started.Select(r => r.Status), Is.All.EqualTo(RunStatus.Pending));
            Assert.That(started.Select(r => r.ToEnqueue), Is.All.Not.Null, "PENDING runs are handed to Hangfire");
            Assert.That((again.Recorded, again.Started), Is.EqualTo((false, Array.Empty<ContinuationRun>())), "a second finish of the run makes nothing");
            Assert.That(await TestDatabase.ScalarAsync<string>($"""
                SELECT string_agg(trigger || ' ' || status || ' ' || parent_run_id || ' ' || array_to_string(remarks, '|'), ';')
                FROM scheduler.runs WHERE schedule_id = {onSuccess}
                """), Is.EqualTo($"CONTINUATION PENDING {runId} Continuation of run {runId} of schedule {parent}, which ended SUCCESS."));
            Assert.That(await CountAsync($"schedule_id = {onFailure}"), Is.Zero);
            Assert.That(await ContinuationStatements.CreateMissingAsync(Database, TimeSpan.FromDays(1), 100, CancellationToken.None), Is.Empty,
                "reconciliation finds nothing missing");
        });
    }

    [Test]
    public async Task A_failure_starts_the_failure_continuations_only_when_no_retry_is_left()
    {
        var (parent, onSuccess, onFailure) = (await ScheduleAsync(), await ScheduleAsync(), await ScheduleAsync());
        await ContinueAsync(parent, (onSuccess, ContinuationWhen.Success), (onFailure, ContinuationWhen.Failure));
        var runId = await InsertRunAsync(parent);

        var retried = await FinishAsync(runId, parent, RunStatus.Failed, retryAt: DateTimeOffset.UtcNow.AddSeconds(1));
        var final = await FinishAsync(runId, parent, RunStatus.Timeout, retryAt: null);

        Assert.Multiple(async () =>
        {
            Assert.That(retried.Recorded, Is.True);
            Assert.That(retried.Started, Is.Empty, "a failed attempt with a retry left has not finished the run");
            Assert.That(final.Started.Select(r => r.ScheduleId), Is.EqualTo(new[] { onFailure }));
            Assert.That(await CountAsync($"parent_run_id = {runId}"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_paused_schedule_gets_a_skipped_run_and_a_deleted_one_none()
    {
        var (parent, paused, deleted) = (await ScheduleAsync(), await ScheduleAsync(ScheduleStatus.Paused), await ScheduleAsync());
        await ContinueAsync(parent, (paused, ContinuationWhen.Any), (deleted, ContinuationWhen.Any));
        await TestDatabase.ExecuteAsync($"UPDATE scheduler.schedules SET deleted_at = now() WHERE id = {deleted}");

        var (_, _, started) = await FinishAsync(await InsertRunAsync(parent), parent, RunStatus.Success, retryAt: null);

        Assert.Multiple(async () =>
        {
            Assert.That(started.Select(r => (r.ScheduleId, r.Status)), Is.EqualTo(new[] { (paused, RunStatus.Skipped) }));
            Assert.That(started[0].ToEnqueue, Is.Null, "nothing to execute");
            Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT array_to_string(remarks, '|') || ' ' || (completed_at IS NOT NULL) FROM scheduler.runs WHERE schedule_id = {paused}"),
                Does.EndWith($"|Skipped: schedule {paused} is PAUSED. true"));
            Assert.That(await CountAsync($"schedule_id = {deleted}"), Is.Zero);
        });
    }

    [Test]
    public async Task Runs_finishing_in_one_statement_into_one_schedule_each_get_their_run()
    {
        var (parent, next) = (await ScheduleAsync(), await ScheduleAsync());
        await ContinueAsync(parent, (next, ContinuationWhen.Any));
        var runs = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            runs.Add(await InsertRunAsync(parent, dueInSeconds: -i));
        }
        var finishes = new RunFinishStatement(Database);
        var claimed = new List<RunClaim>();
        foreach (var run in runs)
        {
            claimed.Add(await ClaimAsync(run));
        }

        // At once, so the batcher makes one statement of them (due times computed in one transaction).
        var results = await Task.WhenAll(claimed.Select(claim => FinishAsync(finishes, claim, parent, RunStatus.Success, null)));

        Assert.Multiple(async () =>
        {
            Assert.That(results.Select(r => r.Started.Count), Is.All.EqualTo(1));
            Assert.That(await CountAsync($"schedule_id = {next} AND trigger = 'CONTINUATION'"), Is.EqualTo(5));
            Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT string_agg(parent_run_id::text, ',' ORDER BY parent_run_id) FROM scheduler.runs WHERE schedule_id = {next}"),
                Is.EqualTo(string.Join(",", runs.Order())));
        });
    }

    [Test]
    public async Task Reconciliation_makes_a_missing_continuation_run_once_and_none_for_runs_ended_before_the_continuation()
    {
        var (parent, next) = (await ScheduleAsync(), await ScheduleAsync());
        var before = await InsertRunAsync(parent, dueInSeconds: -60);
        await FinishAsync(before, parent, RunStatus.Success, retryAt: null);
        await TestDatabase.ExecuteAsync($"UPDATE scheduler.runs SET completed_at = now() - interval '1 minute' WHERE id = {before}");
        await ContinueAsync(parent, (next, ContinuationWhen.Success));
        var runId = await InsertRunAsync(parent);
        await FinishAsync(runId, parent, RunStatus.Success, retryAt: null);
        // A finish that made no continuation run (as if its run was lost with a process).
        await TestDatabase.ExecuteAsync($"DELETE FROM scheduler.runs WHERE parent_run_id = {runId}");

        var created = await ContinuationStatements.CreateMissingAsync(Database, TimeSpan.FromDays(1), 100, CancellationToken.None);
        var again = await ContinuationStatements.CreateMissingAsync(Database, TimeSpan.FromDays(1), 100, CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(created.Select(r => (r.ParentRunId, r.ScheduleId, r.Status)), Is.EqualTo(new[] { (runId, next, RunStatus.Pending) }));
            Assert.That(again, Is.Empty);
            Assert.That(await CountAsync($"parent_run_id = {before}"), Is.Zero, "the continuation came after that run ended");
        });
    }

    [Test]
    public async Task A_continuation_back_to_the_schedule_or_through_others_is_a_cycle()
    {
        var (a, b, c, d) = (await ScheduleAsync(), await ScheduleAsync(), await ScheduleAsync(), await ScheduleAsync());
        await ContinueAsync(a, (b, ContinuationWhen.Any));
        await ContinueAsync(b, (c, ContinuationWhen.Success));
        // c → a would close a → b → c → a; d → a would not (nothing reaches d).
        await using var connection = await Database.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(await ContinuationStatements.WouldCycleAsync(connection, c, [a], CancellationToken.None), Is.True, "c → a");
            Assert.That(await ContinuationStatements.WouldCycleAsync(connection, c, [d, b], CancellationToken.None), Is.True, "c → b");
            Assert.That(await ContinuationStatements.WouldCycleAsync(connection, a, [a], CancellationToken.None), Is.True, "a → a");
            Assert.That(await ContinuationStatements.WouldCycleAsync(connection, d, [a], CancellationToken.None), Is.False, "d → a");
            Assert.That(await ContinuationStatements.WouldCycleAsync(connection, a, [c], CancellationToken.None), Is.False, "a → c besides a → b");
            // b's own continuation (b → c) is being replaced, so it is not followed: b → a alone is a → b → a.
            Assert.That(await ContinuationStatements.WouldCycleAsync(connection, b, [a], CancellationToken.None), Is.True, "b → a");
            Assert.That(await ContinuationStatements.WouldCycleAsync(connection, b, [d], CancellationToken.None), Is.False, "b → d instead of b → c");
        });
        await transaction.CommitAsync();

        // A deleted schedule's continuations never fire: a path through one closes no cycle.
        await TestDatabase.ExecuteAsync($"UPDATE scheduler.schedules SET deleted_at = now() WHERE id = {b}");
        Assert.That(await ContinuationStatements.WouldCycleAsync(connection, c, [a], CancellationToken.None), Is.False, "c → a with b deleted");
    }

    private async Task<RunClaim> ClaimAsync(long runId) =>
        (await new RunClaimStatement(Database, Options).ClaimAsync(runId, "worker-a", DateTimeOffset.UtcNow, null, CancellationToken.None))!;

    private async Task<(bool Recorded, long? DeliveryId, IReadOnlyList<ContinuationRun> Started)> FinishAsync(long runId, long scheduleId, RunStatus status, DateTimeOffset? retryAt) =>
        await FinishAsync(new RunFinishStatement(Database), await ClaimAsync(runId), scheduleId, status, retryAt);

    private static Task<(bool Recorded, long? DeliveryId, IReadOnlyList<ContinuationRun> Started)> FinishAsync(
        RunFinishStatement finishes, RunClaim claim, long scheduleId, RunStatus status, DateTimeOffset? retryAt)
    {
        var now = DateTimeOffset.UtcNow;
        var outcome = status == RunStatus.Success
            ? new CallOutcome(status, now, now.AddMilliseconds(5), 5, StatusCode: 200)
            : new CallOutcome(status, now, now.AddMilliseconds(5), 5, StatusCode: 503, ErrorType: ErrorType.Http5xx);
        return finishes.FinishAsync(claim, scheduleId, "worker-a", now, outcome, new AttemptConsequence(retryAt, 3, null));
    }

    private static async Task ContinueAsync(long scheduleId, params (long Next, ContinuationWhen When)[] continuations)
    {
        for (var i = 0; i < continuations.Length; i++)
        {
            await TestDatabase.ExecuteAsync($"""
                INSERT INTO scheduler.schedule_continuations (schedule_id, next_schedule_id, fires_when, position, created_at)
                VALUES ({scheduleId}, {continuations[i].Next}, {Sql.Literal(continuations[i].When)}, {i}, now())
                """);
        }
    }

    private static Task<long> CountAsync(string where) => TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM scheduler.runs WHERE {where}");
}
