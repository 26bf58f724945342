using System.Globalization;
using System.Text;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// Ten thousand malformed or mutated requests across every write endpoint, from a fixed seed: no 5xx,
/// every 4xx is problem details, and a rejected request changes nothing in the database.
/// </summary>
[Category("Fuzz")]
public sealed class FuzzTests : SystemTestBase
{
    protected override bool StartsWorker => false;

    private const int Requests = 10_000;

    private static readonly string[] TargetSeeds =
    [
        """{"name": "fuzz", "url": "http://example.com/hook", "method": "POST", "headers": {"X-A": "b", "Authorization": "Bearer t"}, "body_template": "{\"a\": 1}", "timeout_seconds": 10, "signing_secret": "0123456789abcdef0123"}""",
        """{"name": "fuzz2", "url": "https://example.com/", "method": "GET"}""",
    ];

    private static readonly string[] ScheduleSeeds =
    [
        """{"schedule_type": "IMMEDIATE", "target": {"url": "http://example.com/now", "method": "POST", "body": "x"}}""",
        """{"schedule_type": "ONCE", "run_at": "+1d", "target_id": 1, "retry": {"max_attempts": 3, "initial_interval_seconds": 2, "max_interval_seconds": 60}}""",
        """{"name": "every", "schedule_type": "INTERVAL", "interval_seconds": 3600, "target": {"url": "http://example.com/i"}, "overlap_policy": "SKIP", "catch_up_policy": "ONE"}""",
        """{"schedule_type": "WINDOW", "interval_seconds": 600, "duration_seconds": 3600, "target": {"url": "http://example.com/w"}}""",
        """{"schedule_type": "WINDOW", "interval_seconds": 60, "start_at": "+1h", "end_at": "+2d", "target": {"url": "http://example.com/w2"}}""",
        """{"schedule_type": "CRON", "cron_expression": "*/5 * * * *", "start_at": "+1m", "end_at": "2099-01-01T00:00:00Z", "target": {"url": "http://example.com/c2"}}""",
        """{"schedule_type": "CRON", "cron_expression": "0 9 * * 1-5", "time_zone": "Europe/Berlin", "target": {"url": "http://example.com/c"}, "callback_url": "http://example.com/cb", "callback_headers": {"X-Token": "s"}, "max_delay_seconds": 30, "expected_http_status": 200, "tag": "t", "reference_id": "r"}""",
        """{"schedule_type": "IMMEDIATE", "job_name": "echo", "job_args": {"a": 1}}""",
    ];

    private static readonly JsonNode?[] OddValues =
    [
        null, true, false, 0, -1, 1.5, int.MaxValue, long.MinValue, "", " ", "null", "0", "-1", "1e400",
        new string('x', 5000), "💥\u0000\u202e", "http://", "ftp://example.com/", "javascript:alert(1)", "+", "+6z",
        "2024-13-45T99:00:00Z", "9999999999999", "0 0 31 2 *", "* * * * * * *", "Mars/Olympus", "IMMEDIATE", "once",
        new JsonArray(), new JsonArray(1, "a", null), new JsonObject(), new JsonObject { ["$ref"] = "#" },
    ];

    /// <summary>
    /// Times a parser or the arithmetic after it can trip on: relative times that overflow, instants at and
    /// past the ends of .NET's and PostgreSQL's ranges, Unix seconds out of range. Put into run_at, start_at,
    /// end_at and the runs filters.
    /// </summary>
    private static readonly JsonNode?[] OddTimes =
    [
        "+999999999d", "+999999999h", "+999999999s", "+99999999d", "+106751991d", "+2914d", "+3000000d", "+0s",
        "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "1000-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
        "9998-12-31T00:00:00Z", "9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59-01:00", "275760-09-13T00:00:00Z",
        "294277-01-01T00:00:00Z", "-4713-11-24T00:00:00Z", "infinity", "-infinity", "epoch", "now",
        0, -1, 253402300799, 253402300800, -62135596800, 1e15, 1e300, JsonNode.Parse("99999999999999999999999999"), -0.5,
    ];

    /// <summary>Numbers past every integer type a field may be read as.</summary>
    private static readonly JsonNode?[] HugeIntegers =
    [
        2147483647, 2147483648L, -2147483649L, long.MaxValue, long.MinValue, JsonNode.Parse("9223372036854775808"),
        JsonNode.Parse("-9223372036854775809"), JsonNode.Parse("99999999999999999999999999999999"), 1e20, -1e20, 4294967296L,
    ];

    private static readonly string[] TimeFields = ["run_at", "start_at", "end_at"];

    private static readonly string[] IntegerFields =
    [
        "interval_seconds", "duration_seconds", "timeout_seconds", "max_attempts", "initial_interval_seconds", "max_interval_seconds",
        "max_delay_seconds", "expected_http_status", "target_id",
    ];

    [Test]
    public async Task Ten_thousand_mutated_requests_give_no_5xx_problem_details_for_every_4xx_and_no_partial_writes()
    {
        var random = new Random(20261124);
        using var http = CreateHttpClient(Api.BaseAddress!);
        // Something for the id-bearing endpoints to find.
        var (_, target) = await Client.CreateTarget(Json(TargetSeeds[0])).ReadAsync();
        var targetId = target!["id"]!.GetValue<long>();
        var scheduleId = await Client.CreateScheduleAsync($$$"""{"schedule_type": "ONCE", "run_at": "+1d", "target_id": {{{targetId}}}}""");
        var statuses = new SortedDictionary<int, int>();
        var kinds = new SortedDictionary<string, int>();
        var baseline = await FingerprintAsync();

        for (var i = 0; i < Requests; i++)
        {
            var (request, kind) = Generate(random, targetId, scheduleId);
            foreach (var one in kind.Split('+'))
            {
                kinds[one] = kinds.GetValueOrDefault(one) + 1;
            }
            using (request)
            using (var response = await http.SendAsync(request))
            {
                var code = (int)response.StatusCode;
                statuses[code] = statuses.GetValueOrDefault(code) + 1;
                var body = await response.Content.ReadAsStringAsync();
                var what = $"#{i} {kind}: {request.Method} {request.RequestUri} → {code} {Shorten(body)}";
                Assert.That(code, Is.LessThan(500), what);
                if (code >= 400)
                {
                    Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), what);
                    Assert.That(JsonNode.Parse(body)?["status"]?.GetValue<int>(), Is.EqualTo(code), what);
                    Assert.That(await FingerprintAsync(), Is.EqualTo(baseline), $"a rejected request changed the database: {what}");
                }
                else
                {
                    baseline = await FingerprintAsync();
                }
            }
        }
        await TestContext.Out.WriteLineAsync($"{Requests} requests; by status: {string.Join(", ", statuses.Select(s => $"{s.Key}×{s.Value}"))}");
        await TestContext.Out.WriteLineAsync($"by mutation: {string.Join(", ", kinds.Select(k => $"{k.Key}×{k.Value}"))}");
        Assert.That(statuses.Keys.Where(s => s >= 400), Is.Not.Empty, "most mutations are rejected");
        Assert.That(Api.HasExited, Is.False);
    }

    /// <summary>One request: an endpoint, a seed body, and one to three mutations (or a broken path or content type).</summary>
    private static (HttpRequestMessage Request, string Kind) Generate(Random random, long targetId, long scheduleId)
    {
        var id = random.Next(4) switch
        {
            0 => targetId.ToString(CultureInfo.InvariantCulture),
            1 => scheduleId.ToString(CultureInfo.InvariantCulture),
            // (An encoded NUL, %00, is refused by Kestrel itself with a bare 400 before any middleware runs.)
            2 => Pick(random, ["0", "-1", "99999999999999999999", "abc", "1.5", "%20", "1;DROP TABLE x", "9223372036854775807"]),
            _ => random.Next(1, 1000).ToString(CultureInfo.InvariantCulture),
        };
        var (method, path, seed) = random.Next(11) switch
        {
            0 or 1 => (HttpMethod.Post, "/targets", Pick(random, TargetSeeds)),
            2 => (HttpMethod.Put, $"/targets/{id}", Pick(random, TargetSeeds)),
            3 or 4 => (HttpMethod.Post, "/schedules", Pick(random, ScheduleSeeds)),
            5 => (HttpMethod.Post, "/schedules/bulk", $$"""{"schedules": [{{Pick(random, ScheduleSeeds)}}, {{Pick(random, ScheduleSeeds)}}]}"""),
            6 => (HttpMethod.Put, $"/schedules/{id}", Pick(random, ScheduleSeeds)),
            7 => (HttpMethod.Post, $"/schedules/{id}/{Pick(random, ["pause", "resume", "trigger"])}", "{}"),
            8 => (HttpMethod.Post, $"/runs/{id}/retry", "{}"),
            9 => (HttpMethod.Get, RunsQuery(random), "{}"),
            _ => (HttpMethod.Post, "/reconcile", "{}"),
        };
        var kinds = new List<string>();
        string body;
        var node = JsonNode.Parse(seed)!;
        for (var m = random.Next(1, 4); m > 0; m--)
        {
            kinds.Add(Mutate(random, node));
        }
        body = node.ToJsonString();
        if (random.Next(8) == 0)
        {
            (body, var raw) = MutateText(random, body);
            kinds.Add(raw);
        }
        var contentType = "application/json";
        if (random.Next(20) == 0)
        {
            contentType = Pick(random, ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]);
            kinds.Add("content-type");
        }
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.Remove("Content-Type");
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = content };
        if (method == HttpMethod.Get)
        {
            request.Content = null;
            kinds = ["runs-query"];
        }
        else if (random.Next(40) == 0)
        {
            request.Content = null;
            kinds.Add("no-body");
        }
        return (request, string.Join("+", kinds.Distinct().Order(StringComparer.Ordinal)));
    }

    /// <summary>Changes one thing somewhere in the JSON tree.</summary>
    private static string Mutate(Random random, JsonNode root)
    {
        var holders = Objects(root).ToList();
        var holder = holders[random.Next(holders.Count)];
        var keys = holder.Select(p => p.Key).ToList();
        switch (random.Next(8))
        {
            case 6 when Objects(root).FirstOrDefault(o => o.ContainsKey("schedule_type")) is { } schedule:
                schedule[Pick(random, TimeFields)] = Pick(random, OddTimes)?.DeepClone();
                return "odd-time";
            case 7:
                var numeric = keys.Where(k => holder[k] is JsonValue value && value.GetValueKind() == System.Text.Json.JsonValueKind.Number).ToList();
                holder[numeric.Count > 0 ? Pick(random, numeric) : Pick(random, IntegerFields)] = Pick(random, HugeIntegers)?.DeepClone();
                return "huge-integer";
            case 0 when keys.Count > 0:
                holder.Remove(Pick(random, keys));
                return "drop-field";
            case 1 when keys.Count > 0:
                holder[Pick(random, keys)] = OddValues[random.Next(OddValues.Length)]?.DeepClone();
                return "odd-value";
            case 2:
                holder[Pick(random, ["unknown", "Name", "SCHEDULE_TYPE", "id", "status", "__proto__"])] = OddValues[random.Next(OddValues.Length)]?.DeepClone();
                return "extra-field";
            case 3 when keys.Count > 0:
                var key = Pick(random, keys);
                holder[key] = new JsonArray(holder[key]?.DeepClone());
                return "wrapped-in-array";
            case 4:
                var deep = new JsonObject();
                var cursor = deep;
                for (var d = 0; d < 80; d++)
                {
                    var next = new JsonObject();
                    cursor["n"] = next;
                    cursor = next;
                }
                holder[keys.Count > 0 ? Pick(random, keys) : "deep"] = deep;
                return "deep-nesting";
            default:
                if (keys.Count > 0)
                {
                    holder[Pick(random, keys)] = random.Next(2) == 0 ? long.MaxValue : -random.NextDouble() * 1e300;
                }
                return "big-number";
        }
    }

    /// <summary>GET /runs with one or two odd filters: huge numbers, overflowing times, broken cursors.</summary>
    private static string RunsQuery(Random random)
    {
        string Value(string parameter) => parameter switch
        {
            "start_time" or "end_time" => Pick(random, OddTimes)?.ToString() ?? "",
            "status_filter" => Pick(random, ["SUCCESS", "success", "", "\u0000", "%00x"]),
            "cursor" => Pick(random, ["", "x", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk6MQ", "MDox", "LTE6LTE", "OTIyMzM3MjAzNjg1NDc3NTgwNzo5MjIzMzcyMDM2ODU0Nzc1ODA3"]),
            _ => Pick(random, HugeIntegers)?.ToJsonString() ?? "",
        };
        string[] parameters = ["limit", "skip", "schedule_id", "start_time", "end_time", "cursor", "status_filter"];
        var query = Enumerable.Range(0, random.Next(1, 3)).Select(_ => Pick(random, parameters)).Distinct()
            .Select(p => $"{p}={Uri.EscapeDataString(Value(p))}");
        return "/runs?" + string.Join("&", query);
    }

    /// <summary>Breaks the text itself: truncation, stray bytes, duplicate keys, not JSON at all.</summary>
    private static (string Body, string Kind) MutateText(Random random, string body) => random.Next(6) switch
    {
        0 => (body[..random.Next(body.Length)], "truncated"),
        1 => (body.Insert(random.Next(body.Length), Pick(random, ["\u0001", "}", "{", ",", "\"", "\\", "NaN", "\ud800"])), "stray-char"),
        2 => (body.Length > 2 ? "{\"schedule_type\": \"ONCE\", " + body[1..] : body, "duplicate-key"),
        3 => ($"[{body}]", "array-body"),
        4 => (Pick(random, ["", "null", "0", "\"text\"", "true", "<xml/>", "{}{}"]), "not-an-object"),
        _ => (body.Replace("\"", "'", StringComparison.Ordinal), "single-quotes"),
    };

    private static IEnumerable<JsonObject> Objects(JsonNode node)
    {
        if (node is JsonObject obj)
        {
            yield return obj;
            foreach (var child in obj.Select(p => p.Value).OfType<JsonNode>().SelectMany(Objects))
            {
                yield return child;
            }
        }
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private static string Shorten(string text) => text.Length > 300 ? text[..300] + "…" : text;

    /// <summary>Row counts and the last change of every row users write: a rejected request must leave it as it was.</summary>
    private static Task<string> FingerprintAsync() => TestDatabase.ScalarAsync<string>("""
        SELECT concat_ws(' ',
          (SELECT count(*) FROM scheduler.targets), (SELECT count(*) FROM scheduler.schedules), (SELECT count(*) FROM scheduler.runs),
          (SELECT md5(coalesce(string_agg(updated_at::text || status, ',' ORDER BY id), '')) FROM scheduler.schedules),
          (SELECT md5(coalesce(string_agg(updated_at::text, ',' ORDER BY id), '')) FROM scheduler.targets),
          (SELECT md5(coalesce(string_agg(updated_at::text || status, ',' ORDER BY id), '')) FROM scheduler.runs))
        """);
}
