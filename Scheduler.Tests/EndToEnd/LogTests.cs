using System.Globalization;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// What the processes print: a client's mistake is one Information line with the status the client got,
/// never an error with a stack trace; real faults alone log at Error. URLs are logged without what may be
/// credentials in them; a named job's stack trace stays in the worker's log.
/// </summary>
public sealed class LogTests : SystemTestBase
{
    private static int s_marker = 900_000_000;

    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x"}""", TestKeys.Admin, 400, TestName = "A truncated body is one Information line showing 400")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": 5}}""", TestKeys.Admin, 400, TestName = "A value of the wrong type is one Information line showing 400")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "ftp://example.com/"}}""", TestKeys.Admin, 400, TestName = "A validation error is one Information line showing 400")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x"}}""", null, 401, TestName = "A request without a key is one Information line showing 401")]
    [TestCase("""{"schedule_type": "IMMEDIATE", "target": {"url": "http://127.0.0.1:9/x"}}""", TestKeys.ReadOnly, 403, TestName = "A write with a read-only key is one Information line showing 403")]
    public async Task A_client_error_is_one_information_line_without_a_stack_trace(string body, string? key, int status)
    {
        var mark = Api.Lines.Count;
        using (var http = CreateHttpClient(Api.BaseAddress!, key))
        using (var response = await http.PostAsync(new Uri("/schedules", UriKind.Relative), Json(body)))
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(status), await response.Content.ReadAsStringAsync());
        }

        var lines = await LinesOfAsync(mark, "POST /schedules");
        Assert.That(lines, Has.Count.EqualTo(1), string.Join(Environment.NewLine, lines));
        Assert.That(lines[0], Does.Contain(" INF] api Serilog.AspNetCore.RequestLoggingMiddleware: HTTP POST /schedules responded " + status.ToString(CultureInfo.InvariantCulture)));
    }

    [Test]
    public async Task Urls_are_logged_without_userinfo_and_with_query_values_masked()
    {
        var target = new UriBuilder(Target.Url("/logged?token=sk-SECRET-query&page=2")) { UserName = "alice", Password = "SECRET-password" }.Uri;
        var scheduleId = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "target": {"url": "{{{target}}}"}, "callback_url": "{{{Target.Url("/logged-callback?sig=SECRET-callback")}}}"}
            """);
        var run = await Client.WaitForFinishedRunAsync(scheduleId, Seconds(30));
        Assert.That(run.Status(), Is.EqualTo("SUCCESS"));
        await Worker!.WaitForOutputAsync("/logged-callback", Seconds(30));

        var port = Target.BaseAddress.Port.ToString(CultureInfo.InvariantCulture);
        Assert.Multiple(() =>
        {
            Assert.That(Worker.Output, Does.Contain($"http://127.0.0.1:{port}/logged?token=***&page=*** → SUCCESS 200"));
            Assert.That(Worker.Output, Does.Contain($"POST http://127.0.0.1:{port}/logged-callback?sig=*** → DELIVERED"));
            Assert.That(Worker.Output + Api.Output, Does.Not.Contain("SECRET"));
            Assert.That(Worker.Output, Does.Not.Contain("alice"));
        });
    }

    [Test]
    public async Task A_named_job_that_throws_gives_callers_and_callbacks_a_short_message_and_keeps_its_stack_trace_in_the_worker_log()
    {
        var longMessage = "boom " + new string('x', 900);
        var scheduleId = await Client.CreateScheduleAsync($$$"""
            {"schedule_type": "IMMEDIATE", "job_name": "fail", "args": {"message": "{{{longMessage}}}"}, "retry": {"max_attempts": 1},
             "callback_url": "{{{Target.Url("/job-callback")}}}"}
            """);
        var run = await Client.WaitForFinishedRunAsync(scheduleId, Seconds(30));
        var callback = JsonNode.Parse((await Target.WaitForAsync("/job-callback", 1, Seconds(30))).Single().Body)!;

        var error = run["error_message"]!.GetValue<string>();
        Assert.Multiple(() =>
        {
            Assert.That(run.Status(), Is.EqualTo("FAILED"));
            Assert.That(error, Does.StartWith("InvalidOperationException: boom xxx"));
            Assert.That(error, Has.Length.LessThanOrEqualTo(501), "a short message");
            Assert.That(callback["error"]!.GetValue<string>(), Is.EqualTo(error));
            Assert.That(callback["traceback"], Is.Null, "no stack trace leaves the worker");
            Assert.That(callback.ToJsonString(), Does.Not.Contain("FailJob"));
        });
        var runId = run["id"]!.GetValue<long>().ToString(CultureInfo.InvariantCulture);
        Assert.That(Worker!.Output, Does.Contain($"Run {runId} attempt 1: job fail threw"));
        Assert.That(Worker.Output, Does.Contain("at Scheduler.Worker.NamedJobs.FailJob.RunAsync"), "the worker's log keeps the stack trace");
    }

    /// <summary>
    /// The API's lines from <paramref name="mark"/> up to the request log line of a later request, once the
    /// line of the request sent (<paramref name="request"/>) is there: everything that request printed.
    /// </summary>
    private async Task<List<string>> LinesOfAsync(int mark, string request)
    {
        await Eventually.UntilAsync(() => Api.Lines.Skip(mark).Any(l => l.Contains($"HTTP {request} responded", StringComparison.Ordinal)),
            Seconds(10), $"the request log line of {request}");
        // A request logged after it closes the span (a missing schedule: a 404 with its id in the path).
        var marker = $"/schedules/{Interlocked.Increment(ref s_marker)}";
        using (var response = await Client.GetSchedule(long.Parse(marker["/schedules/".Length..], CultureInfo.InvariantCulture)))
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(404));
        }
        await Eventually.UntilAsync(() => Api.Lines.Skip(mark).Any(l => l.Contains(marker + " responded", StringComparison.Ordinal)),
            Seconds(10), "the marker request's log line");
        return [.. Api.Lines.Skip(mark).TakeWhile(l => !l.Contains(marker + " responded", StringComparison.Ordinal))];
    }
}
