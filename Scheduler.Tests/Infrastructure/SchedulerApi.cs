using System.Text;
using Refit;

namespace Scheduler.Tests.Infrastructure;

/// <summary>The Scheduler API as the tests call it (Refit). Bodies are raw JSON so tests show the exact wire format.</summary>
public interface ISchedulerApi
{
    [Get("/health")]
    Task<HttpResponseMessage> GetHealth();

    [Post("/targets")]
    Task<HttpResponseMessage> CreateTarget([Body] HttpContent body);

    [Get("/targets/{id}")]
    Task<HttpResponseMessage> GetTarget(long id);

    [Post("/schedules")]
    Task<HttpResponseMessage> CreateSchedule([Body] HttpContent body);

    [Post("/schedules/bulk")]
    Task<HttpResponseMessage> CreateSchedules([Body] HttpContent body);

    [Get("/schedules/{id}")]
    Task<HttpResponseMessage> GetSchedule(long id);

    [Get("/targets")]
    Task<HttpResponseMessage> ListTargets(
        [AliasAs("limit")] int? limit = null, [AliasAs("skip")] int? skip = null, [AliasAs("cursor")] string? cursor = null);

    [Put("/targets/{id}")]
    Task<HttpResponseMessage> UpdateTarget(long id, [Body] HttpContent body);

    [Delete("/targets/{id}")]
    Task<HttpResponseMessage> DeleteTarget(long id);

    [Get("/schedules")]
    Task<HttpResponseMessage> ListSchedules(
        [AliasAs("limit")] int? limit = null, [AliasAs("skip")] int? skip = null, [AliasAs("cursor")] string? cursor = null);

    [Put("/schedules/{id}")]
    Task<HttpResponseMessage> UpdateSchedule(long id, [Body] HttpContent body);

    [Delete("/schedules/{id}")]
    Task<HttpResponseMessage> DeleteSchedule(long id);

    [Post("/schedules/{id}/pause")]
    Task<HttpResponseMessage> PauseSchedule(long id);

    [Post("/schedules/{id}/resume")]
    Task<HttpResponseMessage> ResumeSchedule(long id);

    [Post("/schedules/{id}/trigger")]
    Task<HttpResponseMessage> TriggerSchedule(long id);

    [Get("/runs")]
    Task<HttpResponseMessage> ListRuns(
        [AliasAs("schedule_id")] long? scheduleId = null,
        [AliasAs("status_filter")] string? statusFilter = null,
        [AliasAs("limit")] int? limit = null,
        [AliasAs("skip")] int? skip = null,
        [AliasAs("cursor")] string? cursor = null,
        [AliasAs("start_time")] string? startTime = null,
        [AliasAs("end_time")] string? endTime = null);

    [Get("/metrics")]
    Task<HttpResponseMessage> GetMetrics();

    [Get("/metrics/schedules")]
    Task<HttpResponseMessage> GetScheduleMetrics();

    [Get("/runs/{id}")]
    Task<HttpResponseMessage> GetRun(long id);

    [Post("/reconcile")]
    Task<HttpResponseMessage> Reconcile();
}

public static class SchedulerApiExtensions
{
    public static ISchedulerApi CreateClient(Uri baseAddress, string? key = TestKeys.Admin) =>
        RestService.For<ISchedulerApi>(CreateHttpClient(baseAddress, key));

    /// <summary>The one way tests make an HTTP client for the API: with an API key (admin unless told), or none.</summary>
    public static HttpClient CreateHttpClient(Uri baseAddress, string? key = TestKeys.Admin, HttpMessageHandler? handler = null)
    {
        var http = handler is null ? new HttpClient() : new HttpClient(handler);
        http.BaseAddress = baseAddress;
        http.Timeout = TimeSpan.FromSeconds(30);
        if (key is not null)
        {
            http.DefaultRequestHeaders.Add("X-Api-Key", key);
        }
        return http;
    }

    public static HttpContent Json(string json) => new StringContent(json, Encoding.UTF8, "application/json");

    public static async Task<(HttpStatusCode Status, JsonNode? Body)> ReadAsync(this Task<HttpResponseMessage> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        using var response = await call;
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>Creates a schedule, asserts 201, and returns its id.</summary>
    public static async Task<long> CreateScheduleAsync(this ISchedulerApi api, string json)
    {
        ArgumentNullException.ThrowIfNull(api);
        var (status, body) = await api.CreateSchedule(Json(json)).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), body?.ToJsonString());
        return body!["id"]!.GetValue<long>();
    }

    /// <summary>All runs of a schedule, oldest due first, with their attempts.</summary>
    public static async Task<List<JsonNode>> RunsOfAsync(this ISchedulerApi api, long scheduleId)
    {
        ArgumentNullException.ThrowIfNull(api);
        var (status, runs) = await api.ListRuns(scheduleId, limit: 1000).ReadAsync();
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        return runs!.AsArray().Select(r => r!).OrderBy(r => r["due_at"]!.GetValue<DateTimeOffset>()).ToList();
    }

    /// <summary>Polls until no run of the schedule is PENDING or RUNNING, and returns them all, oldest due first.</summary>
    public static async Task<List<JsonNode>> SettledRunsAsync(this ISchedulerApi api, long scheduleId, TimeSpan timeout) =>
        await Eventually.ValueAsync(async () =>
        {
            var runs = await api.RunsOfAsync(scheduleId);
            return runs.All(r => r.Status() is not ("PENDING" or "RUNNING")) ? runs : null;
        }, timeout, $"the runs of schedule {scheduleId} to settle");

    public static string Status(this JsonNode node) => node["status"]!.GetValue<string>();

    public static DateTimeOffset Time(this JsonNode node, string field) => node[field]!.GetValue<DateTimeOffset>();

    /// <summary>Polls the schedule's runs until one has ended, and returns it with its attempts.</summary>
    public static async Task<JsonNode> WaitForFinishedRunAsync(this ISchedulerApi api, long scheduleId, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(api);
        var run = await Eventually.ValueAsync(async () =>
        {
            var (_, runs) = await api.ListRuns(scheduleId).ReadAsync();
            return runs!.AsArray().FirstOrDefault(r => r!["status"]!.GetValue<string>() is not ("PENDING" or "RUNNING" or "WAITING"));
        }, timeout, $"a finished run of schedule {scheduleId}");
        var (_, detail) = await api.GetRun(run["id"]!.GetValue<long>()).ReadAsync();
        return detail!;
    }
}
