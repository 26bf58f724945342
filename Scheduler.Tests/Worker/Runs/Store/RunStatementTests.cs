using Microsoft.Extensions.Options;
using Npgsql;
using Scheduler.Core.Hosting;
using Scheduler.Core.Model;
using Scheduler.Worker.Execution;
using Scheduler.Worker.Runs;
using Scheduler.Worker.Runs.Store;

namespace Scheduler.Tests.Worker.Runs.Store;

/// <summary>
/// The claim, lease and finish statements against the migrated test database, without processes: each worker
/// is its own statement objects (so its own connections and batches), racing or following the other.
/// </summary>
public sealed class RunStatementTests : StatementTestBase
{
    [Test]
    public async Task Two_workers_claiming_the_same_run_at_once_get_one_claim()
    {
        var runId = await CreateRunAsync();
        var first = new RunClaimStatement(Database, Options);
        var second = new RunClaimStatement(Database, Options);

        var claims = await Task.WhenAll(
            first.ClaimAsync(runId, "worker-a", DateTimeOffset.UtcNow, "1", CancellationToken.None),
            second.ClaimAsync(runId, "worker-b", DateTimeOffset.UtcNow, "2", CancellationToken.None));

        var won = claims.Where(c => c is not null).ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(won, Has.Count.EqualTo(1), "exactly one worker holds the run");
            Assert.That(won[0]!.AttemptNumber, Is.EqualTo(1));
            Assert.That(won[0]!.LostAttempts, Is.Null);
            Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM scheduler.attempts WHERE run_id = {runId}"), Is.EqualTo(1));
            Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT status FROM scheduler.runs WHERE id = {runId}"), Is.EqualTo(WireName.Of(RunStatus.Running)));
        });
    }

    [Test]
    public async Task A_run_under_a_live_lease_is_not_taken_and_an_expired_lease_is_taken_over()
    {
        var runId = await CreateRunAsync();
        var leasesA = new RunLeaseStatements(Database, Options);
        var claimA = await new RunClaimStatement(Database, Options).ClaimAsync(runId, "worker-a", DateTimeOffset.UtcNow, null, CancellationToken.None);
        var claimsB = new RunClaimStatement(Database, Options);
        Assert.That(claimA, Is.Not.Null);
        Assert.That(await claimsB.ClaimAsync(runId, "worker-b", DateTimeOffset.UtcNow, null, CancellationToken.None), Is.Null, "the lease is live");
        Assert.That(await leasesA.RenewAsync(runId, "worker-a", CancellationToken.None), Is.True, "the holder renews");

        // worker-a stops renewing (killed): its lease runs out.
        await TestDatabase.ExecuteAsync($"UPDATE scheduler.runs SET lease_expires_at = now() - interval '1 second' WHERE id = {runId}");
        var claimB = await claimsB.ClaimAsync(runId, "worker-b", DateTimeOffset.UtcNow, null, CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(claimB, Is.Not.Null, "an expired lease is taken over");
            Assert.That(claimB!.AttemptNumber, Is.EqualTo(2));
            Assert.That(claimB.LostAttempts, Is.EqualTo("attempt 1 by worker-a"));
            Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT status || ' ' || error_type FROM scheduler.attempts WHERE id = {claimA!.AttemptId}"),
                Is.EqualTo($"{WireName.Of(AttemptStatus.Lost)} {WireName.Of(ErrorType.WorkerLost)}"));
            Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT lease_owner FROM scheduler.runs WHERE id = {runId}"), Is.EqualTo("worker-b"));
            Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT array_to_string(remarks, '|') FROM scheduler.runs WHERE id = {runId}"),
                Does.StartWith("Recovered: attempt 1 by worker-a was lost"));
            Assert.That(await leasesA.RenewAsync(runId, "worker-a", CancellationToken.None), Is.False, "the old holder learns it lost the run");
            var lease = await leasesA.ReadAsync(runId, CancellationToken.None);
            Assert.That(lease!.Owner, Is.EqualTo("worker-b"));
            Assert.That(lease.ExpiresAt, Is.GreaterThan(lease.DatabaseNow));
        });
    }

    [Test]
    public async Task A_run_is_finished_once_and_only_by_its_holder()
    {
        var runId = await CreateRunAsync();
        var scheduleId = await TestDatabase.ScalarAsync<long>($"SELECT schedule_id FROM scheduler.runs WHERE id = {runId}");
        var claim = await new RunClaimStatement(Database, Options).ClaimAsync(runId, "worker-a", DateTimeOffset.UtcNow, null, CancellationToken.None);
        var finishes = new RunFinishStatement(Database);
        var now = DateTimeOffset.UtcNow;
        var outcome = new CallOutcome(RunStatus.Success, now, now.AddMilliseconds(5), 5, StatusCode: 200);
        var end = new AttemptConsequence(null, 3, ("https://example.com/done", DeliveryKind.Success));

        Assert.That((await finishes.FinishAsync(claim!, scheduleId, "worker-b", now, outcome, end)).Recorded, Is.False, "not the holder");
        var first = await finishes.FinishAsync(claim!, scheduleId, "worker-a", now, outcome, end);
        var second = await finishes.FinishAsync(claim!, scheduleId, "worker-a", now, outcome, end);

        Assert.Multiple(async () =>
        {
            Assert.That(first.Recorded, Is.True);
            Assert.That(first.DeliveryId, Is.Not.Null, "the success callback is created");
            Assert.That((second.Recorded, second.DeliveryId), Is.EqualTo((false, (long?)null)), "a second finish changes nothing");
            Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT status || ' ' || status_code FROM scheduler.runs WHERE id = {runId}"),
                Is.EqualTo($"{WireName.Of(RunStatus.Success)} 200"));
            Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM scheduler.callback_deliveries WHERE run_id = {runId}"), Is.EqualTo(1));
            Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT status FROM scheduler.attempts WHERE id = {claim!.AttemptId}"),
                Is.EqualTo(WireName.Of(AttemptStatus.Success)));
        });
    }

    [Test]
    public async Task A_finish_with_a_retry_leaves_the_run_pending_for_the_next_claim()
    {
        var runId = await CreateRunAsync();
        var scheduleId = await TestDatabase.ScalarAsync<long>($"SELECT schedule_id FROM scheduler.runs WHERE id = {runId}");
        var claims = new RunClaimStatement(Database, Options);
        var claim = await claims.ClaimAsync(runId, "worker-a", DateTimeOffset.UtcNow, null, CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        var outcome = new CallOutcome(RunStatus.Failed, now, now, 5, StatusCode: 503, ErrorType: ErrorType.Http5xx);

        var (recorded, delivery, _) = await new RunFinishStatement(Database).FinishAsync(claim!, scheduleId, "worker-a", now, outcome,
            new AttemptConsequence(now.AddSeconds(2), 3, null));
        var next = await claims.ClaimAsync(runId, "worker-a", DateTimeOffset.UtcNow, null, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(recorded, Is.True);
            Assert.That(delivery, Is.Null, "no callback before the run ends");
            Assert.That(next?.AttemptNumber, Is.EqualTo(2), "the retry is claimed as the next attempt");
        });
    }

    [Test]
    public async Task A_run_released_before_its_call_or_handed_back_during_it_is_pending_again()
    {
        var released = await CreateRunAsync();
        var handedBack = await CreateRunAsync(dueInSeconds: 1);
        var claims = new RunClaimStatement(Database, Options);
        var leases = new RunLeaseStatements(Database, Options);
        var first = await claims.ClaimAsync(released, "worker-a", DateTimeOffset.UtcNow, null, CancellationToken.None);
        var second = await claims.ClaimAsync(handedBack, "worker-a", DateTimeOffset.UtcNow, null, CancellationToken.None);

        await leases.ReleaseUnstartedAsync(first!, "worker-a", CancellationToken.None);
        await leases.HandBackAsync(second!, "worker-a", DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.Multiple(async () =>
        {
            Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT status || ' ' || attempt_count || ' ' || (lease_owner IS NULL) FROM scheduler.runs WHERE id = {released}"),
                Is.EqualTo($"{WireName.Of(RunStatus.Pending)} 0 true"), "as if never taken");
            Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM scheduler.attempts WHERE run_id = {released}"), Is.Zero);
            Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT status || ' ' || attempt_count FROM scheduler.runs WHERE id = {handedBack}"),
                Is.EqualTo($"{WireName.Of(RunStatus.Pending)} 1"));
            Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT status FROM scheduler.attempts WHERE id = {second!.AttemptId}"),
                Is.EqualTo(WireName.Of(AttemptStatus.Interrupted)));
            Assert.That(await leases.RenewAsync(handedBack, "worker-a", CancellationToken.None), Is.False, "nothing left to renew");
        });
    }

    [Test]
    public async Task A_finished_run_is_reopened_once_and_a_pending_one_not_at_all()
    {
        var runId = await CreateRunAsync();
        Assert.That(await RunStatements.ReopenAsync(Database, runId, "again", CancellationToken.None), Is.False, "still PENDING");
        await TestDatabase.ExecuteAsync($"UPDATE scheduler.runs SET status = {Sql.Literal(RunStatus.Failed)} WHERE id = {runId}");

        Assert.Multiple(async () =>
        {
            Assert.That(await RunStatements.ReopenAsync(Database, runId, "again", CancellationToken.None), Is.True);
            Assert.That(await RunStatements.ReopenAsync(Database, runId, "again", CancellationToken.None), Is.False, "already reopened");
            Assert.That(await TestDatabase.ScalarAsync<string>($"SELECT status || ' ' || retry_requested || ' ' || array_to_string(remarks, '|') FROM scheduler.runs WHERE id = {runId}"),
                Is.EqualTo($"{WireName.Of(RunStatus.Pending)} true again"));
        });
    }

    /// <summary>A PENDING run of a paused schedule (so no dispatcher of another test would touch it).</summary>
    private static async Task<long> CreateRunAsync(int dueInSeconds = 0) => await InsertRunAsync(await ScheduleAsync(ScheduleStatus.Paused), dueInSeconds);
}
