using System.Globalization;
using System.Text.Json;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// Logging:Format=json (issue #21): every line both processes print is one compact JSON object, and the worker's
/// lines about a run carry its RunId and its trace id (@tr, the run's trace_id), from the attempt's log scope and span.
/// </summary>
public sealed class JsonLogTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["Logging__Format"] = "json" };

    [Test]
    public async Task Every_line_is_json_and_a_runs_lines_carry_its_run_id_and_trace_id()
    {
        Target.Respond("/flaky", TestTarget.Sequence(TestTarget.Status(503), TestTarget.Status(200)));
        var scheduleId = await Client.CreateScheduleAsync($$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{Target.Url("/flaky")}}"},
             "retry": {"max_attempts": 2, "initial_interval_seconds": 1}, "callback_url": "{{Target.Url("/json-callback")}}"}
            """);
        var run = await Client.WaitForFinishedRunAsync(scheduleId, Seconds(60));
        await Target.WaitForAsync("/json-callback", 1, Seconds(30));
        var runId = run["id"]!.GetValue<long>();
        var traceId = run["trace_id"]!.GetValue<string>();
        // The callback's line is the last the worker writes about the run.
        await Eventually.UntilAsync(() => Parsed(Worker!).Any(e => Long(e, "RunId") == runId && Long(e, "DeliveryId") is not null),
            Seconds(30), "the callback's log line");

        var workerLines = Parsed(Worker!);
        var apiLines = Parsed(Api);
        var ofRun = workerLines.Where(e => Long(e, "RunId") == runId).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
            Assert.That(run["attempt_count"]!.GetValue<int>(), Is.EqualTo(2));
            Assert.That(apiLines.Any(e => e.TryGetProperty("@mt", out var mt) && mt.GetString()!.StartsWith("HTTP ", StringComparison.Ordinal)),
                "the API's request lines are there");
            // Both attempts' lines (finished 503, retry scheduled, finished 200) and the callback's.
            Assert.That(ofRun.Select(e => Long(e, "Attempt")).Distinct(), Is.SupersetOf(new long?[] { 1, 2 }), string.Join(Environment.NewLine, ofRun));
            foreach (var line in ofRun)
            {
                Assert.That(line.TryGetProperty("@tr", out var tr) ? tr.GetString() : null, Is.EqualTo(traceId), line.ToString());
                Assert.That(line.TryGetProperty("@sp", out _), Is.True, line.ToString());
                Assert.That(line.TryGetProperty("@t", out _), Is.True, line.ToString());
            }
            // The attempts' lines (not the callback's, whose Attempt is the delivery's) name the schedule too.
            Assert.That(ofRun.Where(e => Long(e, "DeliveryId") is null).Select(e => Long(e, "ScheduleId")).Distinct(), Is.EqualTo(new long?[] { scheduleId }),
                string.Join(Environment.NewLine, ofRun));
        });
    }

    /// <summary>Every line the process printed, each parsed as JSON (a line that is not fails the test, naming it).</summary>
    private static List<JsonElement> Parsed(SchedulerProcess process) =>
        [.. process.Lines.Select(line =>
        {
            try
            {
                using var document = JsonDocument.Parse(line);
                Assert.That(document.RootElement.ValueKind, Is.EqualTo(JsonValueKind.Object), line);
                return document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                Assert.Fail($"{process.Name} printed a line that is not JSON ({ex.Message}): {line}");
                throw;
            }
        })];

    private static long? Long(JsonElement line, string property) =>
        line.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64()
        : value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), CultureInfo.InvariantCulture, out var parsed) ? parsed
        : null;
}
