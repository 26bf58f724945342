using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Scheduler.Tests.EndToEnd;

/// <summary>
/// The dashboard's own pages (schedules, runs, dead letters, lateness) in a real browser (the system's Chromium
/// through Playwright) against the real system: an admin pauses a schedule and redrives a dead letter from
/// them, a read-only session sees the same data and no buttons, and its POSTs are refused. Screenshots are
/// attached to the tests (docs/images has some).
/// </summary>
public sealed partial class DashboardPagesTests : SystemTestBase
{
    private Chromium _chromium = null!;

    [OneTimeSetUp]
    public async Task LaunchChromiumAsync() => _chromium = await Chromium.LaunchAsync();

    [OneTimeTearDown]
    public async Task CloseChromiumAsync()
    {
        if (_chromium is not null)
        {
            await _chromium.DisposeAsync();
        }
    }

    [Test]
    public async Task An_admin_sees_every_page_with_data_pauses_a_schedule_and_redrives_a_dead_letter()
    {
        var (heartbeat, failedRun) = await SeedAsync();
        var page = await _chromium.NewPageAsync(Api.BaseAddress!);
        await Chromium.SignInAsync(page, TestKeys.Admin, "/hangfire/schedules");

        // Schedules: both, with their kind, timing in words and run counts; the name is shown as text, not markup.
        await Expect(page.Locator("table")).ToContainTextAsync("every 1 s");
        await Expect(page.GetByText("heartbeat <b>probe</b>")).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Pause" }).First).ToBeVisibleAsync();
        await Chromium.ScreenshotAsync(page, "dashboard-schedules");

        // A schedule's page: its settings with the secret header masked, its runs; Pause works from there.
        await page.GotoAsync($"/hangfire/schedules/{heartbeat}");
        await Expect(page.Locator("table").First).ToContainTextAsync("INTERVAL");
        Assert.That(await page.ContentAsync(), Does.Not.Contain("s3cret-token"), "the target's secret header is masked");
        await page.GetByRole(AriaRole.Button, new() { Name = "Pause" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Schedule {heartbeat} is PAUSED");
        var (_, schedule) = await Client.GetSchedule(heartbeat).ReadAsync();
        Assert.That(schedule!["status"]!.GetValue<string>(), Is.EqualTo("PAUSED"), "paused in the database, not only on the page");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Resume" })).ToBeVisibleAsync();
        await Chromium.ScreenshotAsync(page, "dashboard-schedule");

        // Runs, filtered to the failures.
        await page.GotoAsync("/hangfire/runs?status=FAILED");
        await Expect(page.Locator("table")).ToContainTextAsync("http_4xx");
        await Expect(page.Locator("table")).ToContainTextAsync("404");
        Assert.That(await page.Locator("table tbody tr").CountAsync(), Is.EqualTo(1), "only the failed run");
        await Chromium.ScreenshotAsync(page, "dashboard-runs");

        // The run's page links to the Hangfire job that carried it, whose page links back.
        await page.GotoAsync($"/hangfire/runs/{failedRun}");
        await Expect(page.Locator("table").First).ToContainTextAsync("http_4xx");
        await Expect(page.Locator("pre")).ToContainTextAsync("no such page");
        await Chromium.ScreenshotAsync(page, "dashboard-run");
        await page.Locator("a[href*='/hangfire/jobs/details/']").First.ClickAsync();
        var back = page.Locator(".job-runs a", new() { HasText = $"run #{failedRun}" });
        await Expect(back).ToBeVisibleAsync();
        await back.ClickAsync();
        await page.WaitForURLAsync($"**/hangfire/runs/{failedRun}");

        // Hangfire's Failed page lists the run's job, with the run's error.
        await page.GotoAsync("/hangfire/jobs/failed");
        await Expect(page.Locator("table")).ToContainTextAsync($"Run #{failedRun}");
        await Expect(page.Locator("table")).ToContainTextAsync("404");
        await Chromium.ScreenshotAsync(page, "dashboard-failed-jobs");

        // Dead letters: grouped by error type and host; select all, redrive, and the run succeeds.
        Target.Respond("/broken", TestTarget.Status(200, "fixed"));
        await page.GotoAsync("/hangfire/dead-letters");
        await Expect(page.Locator("h4.dead-letter-group")).ToContainTextAsync("http_4xx · 127.0.0.1");
        await Chromium.ScreenshotAsync(page, "dashboard-dead-letters");
        await page.Locator("#select-all").CheckAsync();
        Assert.That(await page.Locator(".run-select:checked").CountAsync(), Is.EqualTo(1));
        await page.Locator("#redrive").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("1 of 1 selected runs queued");
        await Eventually.UntilAsync(async () => (await Client.GetRun(failedRun).ReadAsync()).Body!.Status() == "SUCCESS", Seconds(60),
            "the redriven run to succeed");
        var (_, run) = await Client.GetRun(failedRun).ReadAsync();
        Assert.That(run!["attempts"]!.AsArray().Count(a => a!["manual"]!.GetValue<bool>()), Is.EqualTo(1), "one manual attempt");
        await page.GotoAsync("/hangfire/dead-letters");
        await Expect(page.Locator(".alert-success")).ToContainTextAsync("No dead letters");

        // Lateness of the last hour, for the kinds that ran.
        await page.GotoAsync("/hangfire/lateness");
        await Expect(page.Locator("table").First).ToContainTextAsync("INTERVAL");
        await Expect(page.Locator("tr.lateness-histogram")).Not.ToHaveCountAsync(0);
        await Chromium.ScreenshotAsync(page, "dashboard-lateness");
    }

    [Test]
    public async Task A_read_only_session_sees_the_same_pages_without_buttons_and_its_posts_are_refused()
    {
        var (heartbeat, failedRun) = await SeedAsync();
        var page = await _chromium.NewPageAsync(Api.BaseAddress!);
        await Chromium.SignInAsync(page, TestKeys.ReadOnly, "/hangfire/schedules");

        foreach (var (path, shows) in new[]
                 {
                     ("/hangfire/schedules", "heartbeat <b>probe</b>"),
                     ($"/hangfire/schedules/{heartbeat}", "every 1 s"),
                     ("/hangfire/runs", "http_4xx"),
                     ($"/hangfire/runs/{failedRun}", "http_4xx"),
                     ("/hangfire/dead-letters", "http_4xx · 127.0.0.1"),
                     ("/hangfire/lateness", "INTERVAL"),
                 })
        {
            await page.GotoAsync(path);
            await Expect(page.Locator("#wrap, body").First).ToContainTextAsync(shows);
            Assert.That(await page.Locator("form[method=post]").CountAsync(), Is.Zero, $"no action forms on {path}");
            Assert.That(await page.GetByRole(AriaRole.Button, new() { NameRegex = ActionNames() }).CountAsync(), Is.Zero, $"no action buttons on {path}");
            Assert.That(await page.Locator(".run-select, #select-all").CountAsync(), Is.Zero, $"nothing to select on {path}");
        }
        await page.GotoAsync("/hangfire/dead-letters");
        await Chromium.ScreenshotAsync(page, "dashboard-dead-letters-read-only");

        // The page's own token, as a forged form would carry it: refused all the same, and nothing changed.
        var token = await page.Locator("meta[name=csrf-token]").GetAttributeAsync("content");
        var header = await page.Locator("meta[name=csrf-header]").GetAttributeAsync("content");
        foreach (var path in new[] { $"/hangfire/schedules/{heartbeat}/pause", $"/hangfire/runs/{failedRun}/retry", "/hangfire/dead-letters/redrive" })
        {
            var response = await page.Context.APIRequest.PostAsync(path, new APIRequestContextOptions
            {
                Headers = new Dictionary<string, string> { [header!] = token! },
                Form = page.Context.APIRequest.CreateFormData().Set("run", failedRun.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                MaxRedirects = 0,
            });
            Assert.That(response.Status, Is.EqualTo((int)HttpStatusCode.Forbidden), path);
        }
        var (_, schedule) = await Client.GetSchedule(heartbeat).ReadAsync();
        Assert.That(schedule!["status"]!.GetValue<string>(), Is.EqualTo("ACTIVE"));
        Assert.That((await Client.GetRun(failedRun).ReadAsync()).Body!.Status(), Is.EqualTo("FAILED"));
    }

    [GeneratedRegex("Pause|Resume|Trigger|Delete|Redrive|Retry")]
    private static partial Regex ActionNames();

    /// <summary>
    /// A schedule running every second (a secret header on its target, markup in its name) with a few runs done,
    /// and a run that failed for good (404, not retried). Returns their ids.
    /// </summary>
    private async Task<(long Heartbeat, long FailedRun)> SeedAsync()
    {
        Target.Respond("/ok", TestTarget.Status(200, "fine"));
        Target.Respond("/broken", TestTarget.Status(404, "no such page"));
        var heartbeat = await Client.CreateScheduleAsync($$"""
            {"name": "heartbeat <b>probe</b>", "schedule_type": "INTERVAL", "interval_seconds": 1,
             "target": {"url": "{{Target.Url("/ok")}}", "headers": {"Authorization": "Bearer s3cret-token"} } }
            """);
        var broken = await Client.CreateScheduleAsync($$"""
            {"name": "orders sync", "schedule_type": "IMMEDIATE", "target": {"url": "{{Target.Url("/broken")}}"} }
            """);
        var failed = await Client.WaitForFinishedRunAsync(broken, Seconds(60));
        Assert.That(failed.Status(), Is.EqualTo("FAILED"), failed.ToJsonString());
        await Eventually.UntilAsync(async () => (await Client.RunsOfAsync(heartbeat)).Count(r => r.Status() == "SUCCESS") >= 2, Seconds(60),
            "two runs of the heartbeat");
        return (heartbeat, failed["id"]!.GetValue<long>());
    }
}
