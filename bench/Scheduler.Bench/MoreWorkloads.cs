using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Scheduler.Bench;

/// <summary>W1 burst, W4 scale and W5 API: the workloads that measure throughput and the API itself.</summary>
internal static class MoreWorkloads
{
    /// <summary>W1: N IMMEDIATE runs submitted by 16 concurrent clients; submit rate and end-to-end runs/s (first submit to last call). Returns the runs executed.</summary>
    public static async Task<int> BurstAsync(HttpClient api, ArrivalTarget target, int count, JsonObject result)
    {
        // The bodies are ready before the clock starts: the client's own work stays small (it shares the machine).
        var bodies = Enumerable.Range(0, count).Select(i => ImmediateBody($"{target.BaseUrl}/b/{i}")).ToArray();
        var started = TimeProvider.System.GetUtcNow();
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            await PostBodyAsync(api, "/schedules", bodies[i], ct));
        var submitSeconds = clock.Elapsed.TotalSeconds;
        Progress($"W1: {count} submitted in {submitSeconds:0.0} s; waiting for the calls");
        return await BurstResultAsync(target, count, count, started, submitSeconds, result);
    }

    /// <summary>
    /// W1's figures, whichever client submitted: waits for the <paramref name="accepted"/> runs' calls (or 60 s
    /// without a new one), then end-to-end runs/s from the first submit to the last call received.
    /// </summary>
    public static async Task<int> BurstResultAsync(ArrivalTarget target, int accepted, int count, DateTimeOffset started, double submitSeconds, JsonObject result)
    {
        await WaitQuietAsync(() => target.Arrivals.Count(a => a.Path.StartsWith("/b/", StringComparison.Ordinal)), accepted, TimeSpan.FromSeconds(60));
        var calls = target.Arrivals.Where(a => a.Path.StartsWith("/b/", StringComparison.Ordinal)).ToList();
        var executed = calls.Select(c => c.Path).Distinct(StringComparer.Ordinal).Count();
        var last = calls.Count == 0 ? (TimeProvider.System.GetUtcNow() - started).TotalSeconds : (calls.Max(c => c.At) - started).TotalSeconds;
        result["burst_jobs"] = count;
        result["burst_submit_per_s"] = Math.Round(count / submitSeconds, 1);
        result["burst_submit_errors"] = count - accepted;
        result["burst_executed"] = executed;
        result["burst_not_executed"] = accepted - executed;
        result["burst_duplicates"] = calls.Count - executed;
        result["burst_end_to_end_per_s"] = Math.Round(executed / last, 1);
        return executed;
    }

    /// <summary>
    /// W4: N INTERVAL-60 s schedules created through the API in bulk (1,000 a request), their first runs spread over a
    /// minute; then held: sustained runs/s against the occurrences due, lateness, and how fast the database grows.
    /// </summary>
    public static async Task ScaleAsync(HttpClient api, ArrivalTarget target, int count, TimeSpan hold, TimeSpan createBudget, string? database, SystemCost? cost, JsonObject result)
    {
        var due = new ConcurrentDictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        var created = 0;
        await using var progress = new Timer(_ => Progress($"W4: {Volatile.Read(ref created)}/{count} schedules created"), null, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(15));
        // A system that cannot keep up also creates slowly (the firing schedules load it): creation stops
        // after its budget, and the figures say how far it got.
        using var budget = new CancellationTokenSource(createBudget);
        // In bulk, as a user loading many schedules would: POST /schedules/bulk, 1,000 a request, 4 at a time.
        const int PerRequest = 1000;
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, (count + PerRequest - 1) / PerRequest), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = budget.Token }, async (chunk, ct) =>
            {
                var items = new JsonArray();
                var starts = new List<(string Path, DateTimeOffset Start)>();
                for (var i = chunk * PerRequest; i < Math.Min(count, (chunk + 1) * PerRequest); i++)
                {
                    // Spread over the minute: about count/60 runs fall due every second.
                    var start = TimeProvider.System.GetUtcNow().AddSeconds(5 + (i % 60));
                    var path = $"{ScalePath}{i}";
                    items.Add(new JsonObject
                    {
                        ["schedule_type"] = "INTERVAL",
                        ["interval_seconds"] = 60,
                        ["start_at"] = start.ToString("O", CultureInfo.InvariantCulture),
                        ["target"] = new JsonObject { ["url"] = target.BaseUrl + path },
                    });
                    starts.Add((path, start));
                }
                await PostAsync(api, "/schedules/bulk", new JsonObject { ["schedules"] = items }, CancellationToken.None);
                foreach (var (path, start) in starts)
                {
                    due[path] = start;
                }
                Interlocked.Add(ref created, starts.Count);
            });
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested)
        {
            Progress($"W4: the creation budget ({createBudget.TotalSeconds:0} s) ran out at {created} schedules");
        }
        // The creation's progress, not the hold's (disposing twice is harmless).
        await progress.DisposeAsync();
        await HoldScaleAsync(target, count, due, clock.Elapsed.TotalSeconds, hold, database, cost, result);
    }

    /// <summary>The path under the target of W4's schedule i is this and i.</summary>
    public const string ScalePath = "/s/";

    /// <summary>
    /// W4's measurement, once its schedules exist (<paramref name="due"/>: each one's path and first due time,
    /// whichever client created them): held for <paramref name="hold"/>, then the calls the target received
    /// in that window against the occurrences due in it, and the same window read from the runs table.
    /// </summary>
    public static async Task HoldScaleAsync(ArrivalTarget target, int wanted, IReadOnlyDictionary<string, DateTimeOffset> due, double createSeconds, TimeSpan hold, string? database, SystemCost? cost, JsonObject result)
    {
        result["scale_schedules_wanted"] = wanted;
        var count = due.Count;
        result["scale_schedules"] = count;
        result["scale_create_per_s"] = Math.Round(count / createSeconds, 1);
        Progress($"W4: {count} schedules created in {createSeconds:0} s ({count / createSeconds:0}/s); holding {hold.TotalSeconds:0} s");

        var sizeBefore = await DatabaseBytesAsync(database);
        // The cost is the hold's, the steady state: the creation is a few bulk requests.
        var costBefore = cost is null ? null : await cost.TakeAsync();
        var from = TimeProvider.System.GetUtcNow();
        await Task.Delay(hold);
        var to = TimeProvider.System.GetUtcNow();
        var costAfter = cost is null ? null : await cost.TakeAsync();
        var sizeAfter = await DatabaseBytesAsync(database);

        var window = target.Arrivals.Where(a => a.Path.StartsWith(ScalePath, StringComparison.Ordinal) && a.At >= from && a.At < to).ToList();
        // Lateness against the occurrence each call answers: the latest due time at or before the call.
        var late = window.Select(a =>
        {
            var first = due[a.Path];
            var periods = Math.Floor((a.At - first).TotalSeconds / 60);
            return (a.At - first.AddSeconds(Math.Max(0, periods) * 60)).TotalMilliseconds;
        }).ToArray();
        var seconds = (to - from).TotalSeconds;
        // Occurrences due in the window, counted exactly (the first minute is still filling up).
        var expected = (int)due.Values.Sum(first =>
        {
            var k0 = Math.Max(0, Math.Ceiling((from - first).TotalSeconds / 60));
            var k1 = Math.Ceiling((to - first).TotalSeconds / 60);
            return Math.Max(0, k1 - k0);
        });
        Stats.Add(result, "scale", late, expected);
        result["scale_hold_s"] = Math.Round(seconds);
        result["scale_runs_per_s"] = Math.Round(window.Count / seconds, 1);
        result["scale_target_runs_per_s"] = Math.Round(count / 60.0, 1);
        result["scale_kept_up_percent"] = expected == 0 ? 0 : Math.Round(100.0 * window.Count / expected, 1);
        if (sizeBefore is { } before && sizeAfter is { } after)
        {
            result["scale_db_bytes_start"] = before;
            result["scale_db_growth_mb_per_hour"] = Math.Round((after - before) / seconds * 3600 / (1024 * 1024), 1);
        }
        if (costBefore is not null && costAfter is not null)
        {
            SystemCost.Add(result, "scale", costBefore, costAfter, window.Count);
        }
        await RunsTableLatenessAsync(database, target.BaseUrl + ScalePath, from, to, result);
    }

    /// <summary>
    /// W4 as the system recorded it: every run of a W4 schedule due in the window, from the runs table (its
    /// lateness is from the due time to the call's start), so the tail is the whole window's, not the target's
    /// view of it. A run not yet started when the window closed counts as late by the time until then. The p99 and
    /// max are given for each of <see cref="TableLatenessParts"/>.
    /// </summary>
    private static async Task RunsTableLatenessAsync(string? database, string urlPrefix, DateTimeOffset from, DateTimeOffset to, JsonObject result)
    {
        if (database is null)
        {
            return;
        }
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($$"""
            SELECT count(*)::int,
                   count(*) FILTER (WHERE r.lateness_ms IS NULL)::int,
                   {{string.Join(",\n", TableLatenessParts.Select(p => $"percentile_disc(0.99) WITHIN GROUP (ORDER BY l.ms) FILTER (WHERE {p.Where}), max(l.ms) FILTER (WHERE {p.Where})"))}}
            FROM scheduler.runs r
            JOIN scheduler.schedules s ON s.id = r.schedule_id
            JOIN scheduler.targets t ON t.id = s.target_id
            CROSS JOIN LATERAL (SELECT coalesce(r.lateness_ms, extract(epoch FROM @to - r.due_at) * 1000)::float8 AS ms) l
            WHERE t.url LIKE @prefix || '%' AND r.due_at >= @from AND r.due_at < @to
            """, connection);
        command.Parameters.AddWithValue("prefix", urlPrefix);
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("to", to);
        command.Parameters.AddWithValue("split", from.AddMinutes(1));
        command.CommandTimeout = 120;
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        result["scale_table_runs"] = reader.GetInt32(0);
        result["scale_table_not_started"] = reader.GetInt32(1);
        var column = 2;
        foreach (var key in TableLatenessParts.SelectMany(p => new[] { $"scale_table_late_ms_p99{p.Suffix}", $"scale_table_late_ms_max{p.Suffix}" }))
        {
            result[key] = reader.IsDBNull(column) ? double.NaN : Math.Round(reader.GetDouble(column), 1);
            column++;
        }
    }

    /// <summary>
    /// The parts of W4's window its runs-table p99 and max are given for: the whole window, its first minute (a
    /// backlog left by the creation drains there) and the rest (the steady state). Each part's key suffix, and which
    /// runs it holds.
    /// </summary>
    public static readonly (string Suffix, string Where)[] TableLatenessParts =
        [("", "true"), ("_first_minute", "r.due_at < @split"), ("_after", "r.due_at >= @split")];

    /// <summary>W5: POST /schedules at a fixed rate (open loop: each request leaves at its time, whatever the earlier ones do). Returns the schedules created.</summary>
    public static async Task<int> ApiAsync(HttpClient api, int rate, int seconds, JsonObject result)
    {
        var count = rate * seconds;
        var latencies = new ConcurrentBag<double>();
        var fromDue = new ConcurrentBag<double>();
        var errors = 0;
        var clock = Stopwatch.StartNew();
        var sends = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            var at = TimeSpan.FromSeconds((double)i / rate);
            var wait = at - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }
            sends.Add(Task.Run(async () =>
            {
                var sent = Stopwatch.StartNew();
                try
                {
                    await PostAsync(api, new JsonObject
                    {
                        ["schedule_type"] = "ONCE",
                        ["run_at"] = "+1d",
                        ["target"] = new JsonObject { ["url"] = "https://example.com/w5" },
                    }, CancellationToken.None);
                    // From the send; and from the time the request was due to leave, which adds this client's own
                    // delay in sending it (a late timer, a busy thread pool), as the Python client reports too.
                    latencies.Add(sent.Elapsed.TotalMilliseconds);
                    fromDue.Add((clock.Elapsed - at).TotalMilliseconds);
                }
                catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                }
            }));
        }
        await Task.WhenAll(sends);
        var sorted = latencies.Order().ToArray();
        var sortedFromDue = fromDue.Order().ToArray();
        static double P(double[] values, double q) => values.Length == 0 ? double.NaN : Math.Round(values[Math.Min(values.Length - 1, (int)(q * values.Length))], 1);
        result["api_rate_per_s"] = rate;
        result["api_requests"] = count;
        result["api_errors"] = errors;
        result["api_achieved_per_s"] = Math.Round(count / clock.Elapsed.TotalSeconds, 1);
        result["api_latency_ms_p50"] = P(sorted, 0.50);
        result["api_latency_ms_p99"] = P(sorted, 0.99);
        result["api_latency_ms_max"] = P(sorted, 1);
        result["api_latency_from_due_ms_p50"] = P(sortedFromDue, 0.50);
        result["api_latency_from_due_ms_p99"] = P(sortedFromDue, 0.99);
        result["api_latency_from_due_ms_max"] = P(sortedFromDue, 1);
        return sorted.Length;
    }

    /// <summary>An IMMEDIATE schedule of an inline target, as UTF-8 JSON.</summary>
    public static byte[] ImmediateBody(string url) =>
        System.Text.Encoding.UTF8.GetBytes(new JsonObject { ["schedule_type"] = "IMMEDIATE", ["target"] = new JsonObject { ["url"] = url } }.ToJsonString());

    /// <summary>Posts a ready body; only the status is read (the answer is not needed unless it is an error).</summary>
    public static async Task PostBodyAsync(HttpClient api, string path, byte[] body, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = content };
        using var response = await api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    private static Task PostAsync(HttpClient api, JsonObject body, CancellationToken cancellationToken) =>
        PostAsync(api, "/schedules", body, cancellationToken);

    private static async Task PostAsync(HttpClient api, string path, JsonObject body, CancellationToken cancellationToken)
    {
        using var response = await api.PostAsJsonAsync(new Uri(path, UriKind.Relative), body, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    /// <summary>Waits until <paramref name="expected"/> are counted, or nothing new has come for <paramref name="quiet"/>.</summary>
    private static async Task WaitQuietAsync(Func<int> count, int expected, TimeSpan quiet)
    {
        var last = -1;
        var since = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (await timer.WaitForNextTickAsync())
        {
            var now = count();
            if (now >= expected)
            {
                return;
            }
            if (now != last)
            {
                (last, since) = (now, Stopwatch.StartNew());
            }
            else if (since.Elapsed > quiet)
            {
                return;
            }
        }
    }

    private static async Task<long?> DatabaseBytesAsync(string? database)
    {
        if (database is null)
        {
            return null;
        }
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('scheduler', 'hangfire') AND c.relkind IN ('r', 'm')
            """, connection);
        return (long?)await command.ExecuteScalarAsync();
    }

    public static void Progress(string message) => Console.Error.WriteLine($"[bench] {message}");
}
