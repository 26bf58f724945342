using System.Diagnostics;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// Traces across the processes (issue #21): both export to an OTLP receiver stub, and the spans, the traceparent the
/// target receives and the run's trace_id must tell one story. The client sends its own traceparent, so the API
/// request's span is the one whose parent is the client's span.
/// </summary>
public sealed class TracingTests : SystemTestBase
{
    protected override IReadOnlyDictionary<string, string> Settings => Otlp.Settings;

    [Test]
    public async Task An_immediate_run_continues_the_request_trace_to_the_target_and_the_callback()
    {
        var (clientTrace, clientSpan) = (ActivityTraceId.CreateRandom().ToHexString(), ActivitySpanId.CreateRandom().ToHexString());
        var scheduleId = await CreateTracedAsync($$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{Target.Url("/traced")}}"}, "callback_url": "{{Target.Url("/traced-callback")}}"}
            """, clientTrace, clientSpan);
        var run = await Client.WaitForFinishedRunAsync(scheduleId, Seconds(30));
        var call = Traceparent((await Target.WaitForAsync("/traced", 1, Seconds(30))).Single());
        var callback = Traceparent((await Target.WaitForAsync("/traced-callback", 1, Seconds(30))).Single());

        var request = await Otlp.WaitForAsync(s => s.Service == "scheduler-api" && s.Kind == ExportedSpan.Server && s.ParentSpanId == clientSpan,
            "the API request's span, child of the client's");
        var attempt = await Otlp.WaitForAsync(s => s.Name == "run attempt" && s.TraceId == clientTrace, "the attempt's span");
        var outbound = await Otlp.WaitForAsync(s => s.Service == "scheduler-worker" && s.Kind == ExportedSpan.Client && s.SpanId == call.SpanId,
            "the span of the call the target received");
        var delivery = await Otlp.WaitForAsync(s => s.Name == "run callback" && s.TraceId == clientTrace, "the callback's span");
        Assert.Multiple(() =>
        {
            Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
            Assert.That(run["trace_id"]?.GetValue<string>(), Is.EqualTo(clientTrace), "the run's trace is the request's");
            Assert.That(run["attempts"]![0]!["trace_id"]?.GetValue<string>(), Is.EqualTo(clientTrace), "and so is its attempt's");
            Assert.That(request.TraceId, Is.EqualTo(clientTrace));
            Assert.That(attempt.ParentSpanId, Is.EqualTo(request.SpanId), "the attempt's span is a child of the API request's");
            Assert.That(attempt.Service, Is.EqualTo("scheduler-worker"));
            Assert.That(attempt.Attribute("scheduler.run_id"), Is.EqualTo(run["id"]!.ToJsonString()));
            Assert.That(call.TraceId, Is.EqualTo(clientTrace), "the target receives the run's trace id");
            Assert.That(outbound.ParentSpanId, Is.EqualTo(attempt.SpanId), "the call's span is the attempt's child");
            Assert.That(callback.TraceId, Is.EqualTo(clientTrace), "the callback's receiver too");
            Assert.That(delivery.ParentSpanId, Is.EqualTo(request.SpanId), "the callback's span continues the run's context");
            Assert.That(Otlp.Spans.Single(s => s.SpanId == callback.SpanId).ParentSpanId, Is.EqualTo(delivery.SpanId));
        });
    }

    [Test]
    public async Task A_recurring_run_starts_its_own_trace_linked_to_the_request_that_created_its_schedule()
    {
        var (clientTrace, clientSpan) = (ActivityTraceId.CreateRandom().ToHexString(), ActivitySpanId.CreateRandom().ToHexString());
        var scheduleId = await CreateTracedAsync($$$"""
            {"schedule_type": "INTERVAL", "interval_seconds": 3600, "target": {"url": "{{{Target.Url("/recurring")}}}"}}
            """, clientTrace, clientSpan);
        var run = await Client.WaitForFinishedRunAsync(scheduleId, Seconds(30));
        var call = Traceparent((await Target.WaitForAsync("/recurring", 1, Seconds(30))).Single());
        var traceId = run["trace_id"]?.GetValue<string>();

        var creation = await Otlp.WaitForAsync(s => s.Service == "scheduler-api" && s.Kind == ExportedSpan.Server && s.ParentSpanId == clientSpan,
            "the creating request's span");
        var dispatch = await Otlp.WaitForAsync(s => s.Name == "run dispatch" && s.TraceId == traceId, "the run's dispatch span");
        var attempt = await Otlp.WaitForAsync(s => s.Name == "run attempt" && s.TraceId == traceId, "the attempt's span");
        Assert.Multiple(() =>
        {
            Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
            Assert.That(traceId, Is.Not.Null.And.Not.EqualTo(clientTrace), "a trace of its own");
            Assert.That(dispatch.ParentSpanId, Is.Empty, "the dispatch span begins the run's trace");
            Assert.That(dispatch.Links, Is.EqualTo(new[] { (clientTrace, creation.SpanId) }), "linked to the schedule's creation");
            Assert.That(dispatch.Attribute("scheduler.run_id"), Is.EqualTo(run["id"]!.ToJsonString()));
            Assert.That(attempt.ParentSpanId, Is.EqualTo(dispatch.SpanId));
            Assert.That(call.TraceId, Is.EqualTo(traceId));
        });
    }

    [Test]
    public async Task A_triggered_run_continues_the_trigger_request_trace()
    {
        var scheduleId = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "INTERVAL", "interval_seconds": 3600, "start_at": "+1h", "target": {"url": "{{{Target.Url("/triggered")}}}"}}
            """);
        var (clientTrace, clientSpan) = (ActivityTraceId.CreateRandom().ToHexString(), ActivitySpanId.CreateRandom().ToHexString());
        using (var http = CreateHttpClient(Api.BaseAddress!))
        using (var request = new HttpRequestMessage(HttpMethod.Post, $"/schedules/{scheduleId}/trigger"))
        {
            request.Headers.TryAddWithoutValidation("traceparent", $"00-{clientTrace}-{clientSpan}-01");
            using var response = await http.SendAsync(request);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
        }
        var run = await Client.WaitForFinishedRunAsync(scheduleId, Seconds(30));
        var call = Traceparent((await Target.WaitForAsync("/triggered", 1, Seconds(30))).Single());

        var trigger = await Otlp.WaitForAsync(s => s.Service == "scheduler-api" && s.Kind == ExportedSpan.Server && s.ParentSpanId == clientSpan,
            "the trigger request's span");
        var attempt = await Otlp.WaitForAsync(s => s.Name == "run attempt" && s.TraceId == clientTrace, "the attempt's span");
        Assert.Multiple(() =>
        {
            Assert.That(run["trigger"]!.GetValue<string>(), Is.EqualTo("MANUAL"));
            Assert.That(run["trace_id"]?.GetValue<string>(), Is.EqualTo(clientTrace));
            Assert.That(attempt.ParentSpanId, Is.EqualTo(trigger.SpanId), "the attempt's span is a child of the trigger request's");
            Assert.That(call.TraceId, Is.EqualTo(clientTrace));
        });
    }

    private async Task<long> CreateTracedAsync(string json, string traceId, string spanId)
    {
        using var http = CreateHttpClient(Api.BaseAddress!);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/schedules") { Content = Json(json) };
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{spanId}-01");
        using var response = await http.SendAsync(request);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync());
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body?.ToJsonString());
        return body!["id"]!.GetValue<long>();
    }

    private static (string TraceId, string SpanId) Traceparent(ReceivedRequest request)
    {
        var header = request.Header("traceparent");
        Assert.That(header, Does.Match("^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"), $"{request.Path} received a W3C traceparent");
        var parts = header!.Split('-');
        return (parts[1], parts[2]);
    }
}
