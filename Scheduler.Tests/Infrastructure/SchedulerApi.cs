using System.Net;
using System.Text;
using System.Text.Json.Nodes;
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

    [Get("/schedules/{id}")]
    Task<HttpResponseMessage> GetSchedule(long id);

    [Get("/runs")]
    Task<HttpResponseMessage> ListRuns([AliasAs("schedule_id")] long? scheduleId = null, [AliasAs("status_filter")] string? statusFilter = null);

    [Get("/runs/{id}")]
    Task<HttpResponseMessage> GetRun(long id);
}

public static class SchedulerApiExtensions
{
    public static ISchedulerApi CreateClient(Uri baseAddress) =>
        RestService.For<ISchedulerApi>(new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) });

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

    /// <summary>Polls the schedule's runs until one has ended, and returns it with its attempts.</summary>
    public static async Task<JsonNode> WaitForFinishedRunAsync(this ISchedulerApi api, long scheduleId, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(api);
        var run = await Eventually.ValueAsync(async () =>
        {
            var (_, runs) = await api.ListRuns(scheduleId).ReadAsync();
            return runs!.AsArray().FirstOrDefault(r => r!["status"]!.GetValue<string>() is not ("PENDING" or "RUNNING"));
        }, timeout, $"a finished run of schedule {scheduleId}");
        var (_, detail) = await api.GetRun(run["id"]!.GetValue<long>()).ReadAsync();
        return detail!;
    }
}
