using System.Globalization;

namespace Scheduler.Tests.EndToEnd;

/// <summary>ONCE schedules: the call reaches the target at its time, never before.</summary>
public sealed class OnceScheduleTests : SystemTestBase
{
    [Test]
    public async Task A_once_schedule_3s_ahead_reaches_the_target_no_earlier_than_run_at()
    {
        var runAt = TimeProvider.System.GetUtcNow().AddSeconds(3);
        var (status, schedule) = await Client.CreateSchedule(Json($$$"""
            {"schedule_type": "ONCE", "run_at": "{{{runAt:O}}}", "target": {"url": "{{{Target.Url("/once")}}}"}}
            """)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), schedule?.ToJsonString());
        Assert.That(schedule!["run_at"]!.GetValue<DateTimeOffset>(), Is.EqualTo(TruncateToMicroseconds(runAt)));

        var arrival = (await Target.WaitForAsync("/once", 1, Seconds(30))).Single().ArrivedAt;
        var run = await Client.WaitForFinishedRunAsync(schedule["id"]!.GetValue<long>(), Seconds(10));

        Assert.That(arrival, Is.GreaterThanOrEqualTo(runAt), $"arrived {(arrival - runAt).TotalMilliseconds:0.0} ms after run_at");
        Assert.Multiple(() =>
        {
            Assert.That(run["status"]!.GetValue<string>(), Is.EqualTo("SUCCESS"));
            Assert.That(run["due_at"]!.GetValue<DateTimeOffset>(), Is.EqualTo(TruncateToMicroseconds(runAt)));
            Assert.That(run["started_at"]!.GetValue<DateTimeOffset>(), Is.GreaterThanOrEqualTo(run["due_at"]!.GetValue<DateTimeOffset>()));
            Assert.That(run["lateness_ms"]!.GetValue<double>(), Is.GreaterThanOrEqualTo(0));
        });
    }

    [Test]
    public async Task Run_at_may_be_unix_seconds_as_a_number_or_string_or_relative()
    {
        var now = TimeProvider.System.GetUtcNow();
        var unix = now.AddSeconds(2).ToUnixTimeSeconds() + 1;
        string[] forms = [unix.ToString(CultureInfo.InvariantCulture), $"\"{unix}\"", "\"+2s\""];
        var ids = new List<long>();
        for (var i = 0; i < forms.Length; i++)
        {
            ids.Add(await Client.CreateScheduleAsync($$$"""
                {"schedule_type": "ONCE", "run_at": {{{forms[i]}}}, "target": {"url": "{{{Target.Url($"/form{i}")}}}"}}
                """));
        }

        for (var i = 0; i < forms.Length; i++)
        {
            var run = await Client.WaitForFinishedRunAsync(ids[i], Seconds(30));
            var due = run["due_at"]!.GetValue<DateTimeOffset>();
            Assert.That(run["status"]!.GetValue<string>(), Is.EqualTo("SUCCESS"), forms[i]);
            Assert.That(Target.ReceivedOn($"/form{i}").Single().ArrivedAt, Is.GreaterThanOrEqualTo(due), forms[i]);
            if (i < 2)
            {
                Assert.That(due, Is.EqualTo(DateTimeOffset.FromUnixTimeSeconds(unix)), forms[i]);
            }
        }
    }

    [Test]
    public async Task Many_once_schedules_close_together_each_fire_on_time_none_early()
    {
        // Due 100 ms apart: the dispatcher must wake for each, however short its sleeps.
        var first = TimeProvider.System.GetUtcNow().AddSeconds(2);
        var due = new Dictionary<string, DateTimeOffset>();
        for (var i = 0; i < 30; i++)
        {
            var at = first.AddMilliseconds(i * 100.0 + (i % 7));
            due[$"/many/{i}"] = TruncateToMicroseconds(at);
            await Client.CreateScheduleAsync($$$"""
                {"schedule_type": "ONCE", "run_at": "{{{at:O}}}", "target": {"url": "{{{Target.Url($"/many/{i}")}}}"}}
                """);
        }
        await Eventually.UntilAsync(() => due.Keys.All(path => Target.ReceivedOn(path).Count == 1), Seconds(30), "every call");
        var lateness = due.Select(d => (Target.ReceivedOn(d.Key).Single().ArrivedAt - d.Value).TotalMilliseconds).Order().ToList();
        await TestContext.Out.WriteLineAsync($"lateness ms: min {lateness[0]:0.0}, p50 {lateness[15]:0.0}, max {lateness[^1]:0.0}");
        Assert.That(lateness, Has.All.GreaterThanOrEqualTo(0));
        Assert.That(await TestDatabase.ScalarAsync<long>("SELECT count(*) FROM scheduler.runs WHERE trigger <> 'SCHEDULED'"), Is.Zero, "none was missed");
    }

    private static DateTimeOffset TruncateToMicroseconds(DateTimeOffset value) => new(value.UtcTicks - (value.UtcTicks % 10), TimeSpan.Zero);
}
