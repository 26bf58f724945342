using System.Net.Http.Headers;
using Scheduler.Core.Model;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// Issue #21's metrics: runs that succeed, fail and are retried, then the API's <c>/metrics/prometheus</c> and the
/// worker's <c>/metrics</c> scraped and parsed as Prometheus text; the counters and histogram counts equal what
/// the API reports for those runs (as differences from a scrape taken before them: the fixture's processes
/// live across tests).
/// </summary>
public sealed class PrometheusMetricsTests : SystemTestBase
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Metrics__GaugeRefresh"] = "00:00:01",
    };

    [Test]
    public async Task Counters_and_histograms_equal_what_the_API_reports_for_runs_that_succeed_fail_and_retry()
    {
        Target.Respond("/ok", TestTarget.Status(200));
        Target.Respond("/bad", TestTarget.Status(400));
        Target.Respond("/flaky", TestTarget.Sequence(TestTarget.Status(503), TestTarget.Status(200)));
        Target.Respond("/cb", TestTarget.Sequence(TestTarget.Status(500), TestTarget.Status(200)));
        var before = await ScrapeBothAsync();

        var schedules = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            schedules.Add(await Client.CreateScheduleAsync($$$"""{"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/ok")}}}"}}"""));
        }
        for (var i = 0; i < 2; i++)
        {
            schedules.Add(await Client.CreateScheduleAsync($$$"""
                {"schedule_type": "IMMEDIATE", "target": {"url": "{{{Target.Url("/bad")}}}"}, "error_callback_url": "{{{Target.Url("/cb")}}}"}
                """));
        }
        schedules.Add(await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "retry": {"max_attempts": 3, "initial_interval_seconds": 1, "max_interval_seconds": 2},
             "target": {"url": "{{{Target.Url("/flaky")}}}"}}
            """));

        // Every run ended and every callback delivered or given up, as the API reports them.
        var runs = await Eventually.ValueAsync(async () =>
        {
            var details = new List<JsonNode>();
            foreach (var schedule in schedules)
            {
                foreach (var run in await Client.RunsOfAsync(schedule))
                {
                    var (_, detail) = await Client.GetRun(run["id"]!.GetValue<long>()).ReadAsync();
                    details.Add(detail!);
                }
            }
            var done = details.Count == schedules.Count
                && details.All(r => r.Status() is not ("PENDING" or "RUNNING")
                    && Deliveries(r).All(d => d["status"]!.GetValue<string>() != "PENDING"));
            return done ? details : null;
        }, Wait, "every run to end and its callbacks to be delivered");

        var attempts = runs.SelectMany(r => r["attempts"]!.AsArray().Select(a => a!)).ToList();
        var deliveries = runs.SelectMany(Deliveries).ToList();
        var expected = new Dictionary<string, double>();
        foreach (var group in runs.GroupBy(r => r.Status()))
        {
            expected[$"scheduler_runs_completed_total status={group.Key} kind=IMMEDIATE"] = group.Count();
        }
        foreach (var group in attempts.GroupBy(a => (Outcome: a["status"]!.GetValue<string>(), Error: a["error_type"]?.GetValue<string>() ?? "none")))
        {
            expected[$"scheduler_attempts_total outcome={group.Key.Outcome} error_type={group.Key.Error}"] = group.Count();
        }
        expected["scheduler_run_lateness_seconds_count kind=IMMEDIATE"] = runs.Count(r => r["lateness_ms"] is not null);
        expected["scheduler_attempt_duration_seconds_count"] = attempts.Count;
        expected["scheduler_callback_deliveries_total outcome=delivered"] = deliveries.Count(d => d["status"]!.GetValue<string>() == "DELIVERED");
        expected["scheduler_callback_deliveries_total outcome=failed"] = deliveries.Count(d => d["status"]!.GetValue<string>() == "FAILED");
        expected["scheduler_callback_deliveries_total outcome=retry"] =
            deliveries.Sum(d => d["attempt_count"]!.GetValue<int>()) - deliveries.Count;
        Assert.Multiple(() =>
        {
            // The cases the test is about did happen: a success, a failure, a retry, a callback retried.
            Assert.That(runs.Select(r => r.Status()), Is.SupersetOf(new[] { "SUCCESS", "FAILED" }));
            Assert.That(attempts, Has.Count.GreaterThan(runs.Count), "the flaky target's run was retried");
            Assert.That(expected["scheduler_callback_deliveries_total outcome=retry"], Is.GreaterThan(0));
        });

        // Recorded as the run ends, scraped a moment later: the exporter may serve a response up to its cache age old.
        Dictionary<string, double> actual = [];
        await Eventually.UntilAsync(async () =>
        {
            var after = await ScrapeBothAsync();
            actual = expected.Keys.ToDictionary(key => key, key => Delta(before, after, key));
            return expected.All(e => actual[e.Key] == e.Value);
        }, Wait, "the scraped counters to reach the runs' numbers");
        Assert.That(actual, Is.EquivalentTo(expected));

        var scrape = await ScrapeBothAsync();
        var latenessSum = Delta(before, scrape, "scheduler_run_lateness_seconds_sum kind=IMMEDIATE");
        var reportedSum = runs.Sum(r => r["lateness_ms"]?.GetValue<double>() ?? 0) / 1000;
        Assert.That(latenessSum, Is.EqualTo(reportedSum).Within(0.001 * runs.Count), "lateness seconds, summed, as the runs report them");
    }

    [Test]
    public async Task A_missed_one_shot_recorded_SKIPPED_by_the_dispatcher_counts_as_a_run_ended()
    {
        var before = await ScrapeBothAsync();
        var id = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "ONCE", "run_at": "{{{DateTimeOffset.UtcNow.AddHours(1):O}}}", "catch_up_policy": "NONE", "target": {"url": "{{{Target.Url("/never")}}}"}}
            """);
        // As if every dispatcher had been down past its time (and Scheduling:MisfireThreshold).
        await TestDatabase.ExecuteAsync($"UPDATE scheduler.schedules SET run_at = now() - interval '1 minute', next_run_at = now() - interval '1 minute' WHERE id = {id}");

        var run = await Client.WaitForFinishedRunAsync(id, Wait);
        Assert.That(run.Status(), Is.EqualTo("SKIPPED"));
        await Eventually.UntilAsync(async () => Delta(before, await ScrapeBothAsync(), "scheduler_runs_completed_total status=SKIPPED kind=ONCE") == 1, Wait,
            "the skipped run to be counted");
        Assert.That(Target.ReceivedOn("/never"), Is.Empty);
    }

    [Test]
    public async Task Runs_cancelled_by_deleting_their_schedule_count_as_runs_ended_in_the_API()
    {
        var before = await ScrapeBothAsync();
        var id = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "ONCE", "run_at": "{{{DateTimeOffset.UtcNow.AddHours(1):O}}}", "target": {"url": "{{{Target.Url("/never")}}}"}}
            """);
        // Its run, as if already dispatched: PENDING, due in an hour.
        await TestDatabase.ExecuteAsync($"""
            INSERT INTO scheduler.runs (schedule_id, due_at, status, trigger, attempt_count, retry_requested, remarks, created_at, updated_at)
            SELECT id, run_at, {Sql.Literal(RunStatus.Pending)}, 'SCHEDULED', 0, false, '{"{}"}', now(), now() FROM scheduler.schedules WHERE id = {id}
            """);
        using var response = await Client.DeleteSchedule(id);
        Assert.That(response.IsSuccessStatusCode, Is.True);

        var runs = await Client.RunsOfAsync(id);
        Assert.That(runs.Select(r => r.Status()), Is.EqualTo(new[] { "CANCELLED" }));
        await Eventually.UntilAsync(async () => Delta(before, await ScrapeBothAsync(), "scheduler_runs_completed_total status=CANCELLED kind=ONCE") == 1, Wait,
            "the cancelled run to be counted");
    }

    [Test]
    public async Task Both_endpoints_serve_the_runtime_HTTP_and_database_instruments_and_the_queue_gauges()
    {
        // Once scraped, each endpoint has served a request: the second scrape shows its duration.
        await ScrapeEachAsync();
        var (api, worker) = await ScrapeEachAsync();
        Assert.Multiple(() =>
        {
            foreach (var (name, scrape) in new[] { ("api", api), ("worker", worker) })
            {
                Assert.That(scrape.Types.Keys, Is.SupersetOf(new[]
                {
                    "scheduler_runs_due", "scheduler_dispatch_lag_seconds", "dotnet_gc_collections_total", "http_server_active_requests",
                }), $"{name}: families {string.Join(", ", scrape.Types.Keys.Order())}");
                Assert.That(scrape.Types.Keys.Any(k => k.StartsWith("db_client_", StringComparison.Ordinal)), $"{name}: Npgsql's instruments");
            }
            Assert.That(api.Types.Keys.Concat(worker.Types.Keys), Has.Some.EqualTo("http_server_request_duration_seconds").And.Some.EqualTo("kestrel_active_connections"),
                "ASP.NET Core's instruments");
            Assert.That(worker.Types.Keys, Has.Some.StartsWith("http_client_request_duration"), "worker: HttpClient's instruments");
        });
    }

    [Test]
    public async Task Queue_gauges_count_due_runs_that_have_not_started()
    {
        // Due runs no worker was given (no Hangfire job), a few seconds overdue: reconciliation leaves them for
        // Reconciliation:Grace (30 s); a run due later and a finished one do not count.
        await TestDatabase.ExecuteAsync($"""
            {TestDatabase.WithPausedSchedule}
            INSERT INTO scheduler.runs (schedule_id, due_at, status, trigger, attempt_count, retry_requested, remarks, created_at, updated_at)
            SELECT s.id, v.due_at, v.status, 'SCHEDULED', 0, false, '{"{}"}', now(), now()
            FROM s, (
              SELECT now() - g * interval '1 second' AS due_at, {Sql.Literal(RunStatus.Pending)} AS status FROM generate_series(1, 3) g
              UNION ALL SELECT now() + interval '1 hour', {Sql.Literal(RunStatus.Pending)}
              UNION ALL SELECT now() - interval '2.5 seconds', {Sql.Literal(RunStatus.Success)}
            ) v
            """);
        await Eventually.UntilAsync(async () => (await ScrapeEachAsync()).Api.Sum("scheduler_runs_due") == 3, Wait, "scheduler_runs_due to count 3");
    }

    [Test]
    public async Task The_API_endpoint_asks_for_a_key_and_takes_it_as_a_Bearer_token()
    {
        using var anonymous = SchedulerApiExtensions.CreateHttpClient(Api.BaseAddress!, key: null);
        Assert.That((await anonymous.GetAsync(new Uri("/metrics/prometheus", UriKind.Relative))).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        using var bearer = SchedulerApiExtensions.CreateHttpClient(Api.BaseAddress!, key: null);
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestKeys.ReadOnly);
        using var response = await bearer.GetAsync(new Uri("/metrics/prometheus", UriKind.Relative));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"));
    }

    [Test]
    public async Task Metrics_AllowAnonymous_opens_the_API_endpoint()
    {
        await using var open = await SchedulerProcess.StartApiAsync(new Dictionary<string, string> { ["Metrics__AllowAnonymous"] = "true" });
        using var anonymous = SchedulerApiExtensions.CreateHttpClient(open.BaseAddress!, key: null);
        using var response = await anonymous.GetAsync(new Uri("/metrics/prometheus", UriKind.Relative));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(PrometheusText.Parse(await response.Content.ReadAsStringAsync()).Types.Keys, Does.Contain("scheduler_runs_due"));
        Assert.That((await anonymous.GetAsync(new Uri("/runs", UriKind.Relative))).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized),
            "only the metrics are opened");
    }

    private static IEnumerable<JsonNode> Deliveries(JsonNode run) =>
        run["callback_deliveries"]?.AsArray().Select(d => d!) ?? [];

    /// <summary>"name label=value …": the sample's growth between the two scrapes, summed over both processes.</summary>
    private static double Delta((PrometheusText Api, PrometheusText Worker) before, (PrometheusText Api, PrometheusText Worker) after, string key)
    {
        var parts = key.Split(' ');
        var labels = parts[1..].Select(p => p.Split('=', 2)).Select(p => (p[0], p[1])).ToArray();
        return after.Api.Sum(parts[0], labels) + after.Worker.Sum(parts[0], labels) - before.Api.Sum(parts[0], labels) - before.Worker.Sum(parts[0], labels);
    }

    private Task<(PrometheusText Api, PrometheusText Worker)> ScrapeBothAsync() => ScrapeEachAsync();

    private async Task<(PrometheusText Api, PrometheusText Worker)> ScrapeEachAsync()
    {
        using var api = SchedulerApiExtensions.CreateHttpClient(Api.BaseAddress!, key: null);
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestKeys.Admin);
        using var worker = new HttpClient { BaseAddress = Worker!.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var apiText = await api.GetStringAsync(new Uri("/metrics/prometheus", UriKind.Relative));
        var workerText = await worker.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        return (PrometheusText.Parse(apiText), PrometheusText.Parse(workerText));
    }
}
