using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// The API's warm-up through HTTP (ApiWarmup, WarmUp:Seconds): the API answers 503 "warming up" on /health/ready while
/// it sends itself create requests, then 200; the requests wrote nothing to Scheduler's database (they went to a
/// database of the warm-up's own, dropped after it, with one a dead API left; without the right to create one, to
/// none) and are not in the request log, metrics or exported spans, and take no key's quota; its header does nothing
/// for anyone else.
/// </summary>
public sealed partial class ApiWarmUpTests
{
    [SetUp]
    public Task SetUpAsync() => TestDatabase.ResetAsync();

    /// <summary>The warm-up databases this class made for itself (the API drops its own, and old ones).</summary>
    [TearDown]
    public Task TearDownAsync() => TestDatabase.DropRehearsalDatabasesAsync();

    [Test]
    public async Task The_API_is_ready_only_after_warming_up_through_HTTP_and_the_warm_up_leaves_nothing_behind()
    {
        var targetIds = "pg_get_serial_sequence('scheduler.targets', 'id')";
        var idsBefore = await TestDatabase.ScalarAsync<long>($"SELECT COALESCE((SELECT last_value FROM pg_sequences WHERE schemaname || '.' || sequencename = {targetIds}), 0)");
        // The warm-up writes to a database of its own when this role may create one, and drops one a dead API left.
        var mayCreate = await TestDatabase.ScalarAsync<bool>("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user");
        var prefix = await TestDatabase.RehearsalPrefixAsync();
        // One a dead API left an hour ago, and one another API created a moment ago (between its creation and its
        // migration: nobody connected), which is not a leftover.
        var old = $"{prefix}{DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds():x8}_deadbeef";
        var young = $"{prefix}{DateTimeOffset.UtcNow.ToUnixTimeSeconds():x8}_0b5e55ed";
        if (mayCreate)
        {
            await TestDatabase.ExecuteAsync($"CREATE DATABASE \"{old}\"");
            await TestDatabase.ExecuteAsync($"CREATE DATABASE \"{young}\"");
        }
        var port = FreePorts.One();
        // Its requests are traced as a client's are (so that the warm-up compiles that path too), and not exported.
        await using var otlp = OtlpReceiver.Start();
        await using var api = SchedulerProcess.StartRaw("api", [], new Dictionary<string, string>(otlp.Settings)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["WarmUp__Seconds"] = "3",
            // The warm-up's creates take the create's own path, quota included, but count against no key: with room for
            // one schedule, it still warms up, and the admin's create below still fits.
            ["Limits__MaxActiveSchedulesPerKey"] = "1",
        });
        using var anonymous = SchedulerApiExtensions.CreateHttpClient(new Uri($"http://127.0.0.1:{port}"), key: null);

        // Readiness as a probe sees it: 503 "warming up" first, then 200.
        var answers = await UntilReadyAsync(anonymous);

        var warmedUp = api.Lines.Select(l => WarmedUpLine().Match(l)).FirstOrDefault(m => m.Success);
        var idsAfter = await TestDatabase.ScalarAsync<long>($"SELECT COALESCE((SELECT last_value FROM pg_sequences WHERE schemaname || '.' || sequencename = {targetIds}), 0)");
        Assert.Multiple(async () =>
        {
            Assert.That(answers, Has.Some.StartsWith("warming up"), "not ready while warming up");
            Assert.That(warmedUp, Is.Not.Null, "the warm-up says what it did");
            Assert.That(int.Parse(warmedUp!.Groups[1].Value, CultureInfo.InvariantCulture), Is.GreaterThan(0), "create requests sent");
            if (mayCreate)
            {
                Assert.That(warmedUp.Groups[2].Value, Does.Match($"^written to its own database {prefix}[0-9a-f]{{8}}_[0-9a-f]{{8}}, [1-9][0-9]* runs handed to its Hangfire; dropped$"), "where the creates went");
            }
            else
            {
                Assert.That(warmedUp.Groups[2].Value, Is.EqualTo("none sent to the database"));
                Assert.That(api.Lines, Has.Some.Contains("The warm-up has no database of its own"), "why not");
            }
            Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM pg_database WHERE left(datname, {prefix.Length}) = '{prefix}' AND datname <> '{young}'"), Is.Zero,
                "the warm-up's database dropped, and the one a dead API left");
            Assert.That(await TestDatabase.ScalarAsync<long>($"SELECT count(*) FROM pg_database WHERE datname = '{young}'"), Is.EqualTo(mayCreate ? 1 : 0),
                "another API's, created a moment ago, left alone");
            Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.schedules"), Is.Zero, "no schedule written");
            Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.runs"), Is.Zero, "no run written");
            // Only the 40 in-process rehearsals (rolled back) drew target ids; the HTTP requests never reached the database.
            Assert.That(idsAfter - idsBefore, Is.LessThanOrEqualTo(40), "ids drawn by the warm-up");
            Assert.That(api.Lines, Has.None.Contains("HTTP POST /schedules"), "the warm-up's requests are not in the request log");
            Assert.That(api.Lines, Has.None.Contains("HTTP warm-up stopped"), "the warm-up went through, within a quota of one schedule");
            Assert.That(api.Lines, Has.None.Contains(") created; next run due"), "the warm-up's creates are not logged as schedules created");
            // A probe's 503 is its answer, not a fault: an Information line, not an Error line every poll.
            Assert.That(api.Lines.Where(l => l.Contains("HTTP GET /health/ready responded 503", StringComparison.Ordinal)).ToList(),
                Is.Not.Empty.And.All.Contains(" INF] "), "the probe's 503 answers in the request log");
        });

        // The header is nothing without the token of the warm-up, which has ended: no key, 401; with a key, a real create.
        using var forged = SchedulerApiExtensions.CreateHttpClient(new Uri($"http://127.0.0.1:{port}"), key: null);
        forged.DefaultRequestHeaders.Add("X-Scheduler-Rehearsal", new string('0', 64));
        var (unauthenticated, _) = await forged.PostAsync(new Uri("/schedules", UriKind.Relative),
            SchedulerApiExtensions.Json("""{"schedule_type":"IMMEDIATE","target":{"url":"https://example.com/"}}""")).ReadAsync();
        using var admin = SchedulerApiExtensions.CreateHttpClient(new Uri($"http://127.0.0.1:{port}"));
        admin.DefaultRequestHeaders.Add("X-Scheduler-Rehearsal", new string('0', 64));
        var (created, _) = await admin.PostAsync(new Uri("/schedules", UriKind.Relative),
            SchedulerApiExtensions.Json("""{"schedule_type":"ONCE","run_at":"2099-01-01T00:00:00Z","target":{"url":"https://example.com/"}}""")).ReadAsync();
        // The log the warm-up's creates were kept out of does have a create's line.
        await Eventually.UntilAsync(() => api.Lines.Any(l => l.Contains("(ONCE) created; next run due", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10), "the admin's create in the log");
        using var metrics = await admin.GetAsync(new Uri("/metrics/prometheus", UriKind.Relative));
        var scrape = await metrics.Content.ReadAsStringAsync();
        // The spans exported are the clients' (the admin's create, the refused one): none of the warm-up's thousands.
        var adminSpan = await otlp.WaitForAsync(s => s.Kind == ExportedSpan.Server && s.Attribute("http.response.status_code") == "201", "the admin's create's span");
        Assert.Multiple(async () =>
        {
            Assert.That(adminSpan.Service, Is.EqualTo("scheduler-api"));
            Assert.That(otlp.Spans.Where(s => s.Kind == ExportedSpan.Client).Select(s => s.ToString()), Is.Empty, "no span of the warm-up's requests to itself");
            Assert.That(otlp.Spans.Count(s => s.Kind == ExportedSpan.Server), Is.LessThanOrEqualTo(2), "no server span of the warm-up's requests");
            Assert.That(unauthenticated, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(created, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.schedules"), Is.EqualTo(1), "the keyed create was written");
            // One POST /schedules counted: the admin's (the one without a key was refused before routing counted it as a create).
            Assert.That(scrape.Split('\n').Where(l => l.StartsWith("http_server_request_duration_seconds_count", StringComparison.Ordinal)
                && l.Contains("http_route=\"/schedules\"", StringComparison.Ordinal) && l.Contains("http_request_method=\"POST\"", StringComparison.Ordinal))
                .Sum(l => double.Parse(l[(l.IndexOf('}', StringComparison.Ordinal) + 2)..].Split(' ')[0], CultureInfo.InvariantCulture)), Is.LessThanOrEqualTo(2),
                "the warm-up's requests are not in the request metrics");
        });
    }

    [Test]
    public async Task Without_the_right_to_create_databases_the_warm_up_says_so_and_writes_nothing()
    {
        Assume.That(await TestDatabase.ScalarAsync<bool>("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"), Is.True,
            "needs a role that may create the role without CREATEDB");
        // A role as a careful operator gives the API: its tables, not the right to create databases.
        var role = $"scheduler_nocreatedb_{Environment.ProcessId}";
        var password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        await TestDatabase.ExecuteAsync($"""
            CREATE ROLE {role} LOGIN NOCREATEDB PASSWORD '{password}';
            GRANT USAGE ON SCHEMA scheduler, hangfire TO {role};
            GRANT ALL ON ALL TABLES IN SCHEMA scheduler, hangfire TO {role};
            GRANT ALL ON ALL SEQUENCES IN SCHEMA scheduler, hangfire TO {role};
            """);
        try
        {
            var connection = new Npgsql.NpgsqlConnectionStringBuilder(TestAssemblySetup.ConnectionString) { Username = role, Password = password };
            var port = FreePorts.One();
            await using var api = SchedulerProcess.StartRaw("api", [], new Dictionary<string, string>
            {
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
                ["ConnectionStrings__Scheduler"] = connection.ConnectionString,
                ["WarmUp__Seconds"] = "2",
            });
            using var anonymous = SchedulerApiExtensions.CreateHttpClient(new Uri($"http://127.0.0.1:{port}"), key: null);
            await UntilReadyAsync(anonymous);

            var warmedUp = api.Lines.Select(l => WarmedUpLine().Match(l)).FirstOrDefault(m => m.Success);
            Assert.Multiple(async () =>
            {
                Assert.That(api.Lines, Has.Some.Contains("The warm-up has no database of its own (42501"), "why not, with PostgreSQL's code");
                Assert.That(warmedUp?.Groups[2].Value, Is.EqualTo("none sent to the database"), "it warmed up all the same");
                Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.schedules"), Is.Zero, "no schedule written");
            });
        }
        finally
        {
            await TestDatabase.ExecuteAsync($"DROP OWNED BY {role}; DROP ROLE {role};");
        }
    }

    /// <summary>Polls <c>/health/ready</c> until it answers 200; returns each answer (its reason, or "ready").</summary>
    private static async Task<List<string>> UntilReadyAsync(HttpClient client)
    {
        var answers = new List<string>();
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                var (status, body) = await client.GetAsync(new Uri("/health/ready", UriKind.Relative)).ReadAsync();
                answers.Add(status == HttpStatusCode.OK ? "ready" : body?["reason"]?.GetValue<string>() ?? status.ToString());
                return status == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "the API to be ready");
        return answers;
    }

    [GeneratedRegex(@"Warmed up through HTTP: (\d+) create requests \((.*?)\) in \d+ ms")]
    private static partial Regex WarmedUpLine();
}
