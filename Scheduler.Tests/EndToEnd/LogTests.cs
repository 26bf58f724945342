using System.Globalization;
using Scheduler.Tests.Infrastructure;
using static Scheduler.Tests.Infrastructure.SchedulerApiExtensions;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// What the processes print: a client's mistake is one Information line with the status the client got,
/// never an error with a stack trace; real faults alone log at Error.
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
