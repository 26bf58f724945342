using System.Text.Json;
using System.Text.Json.Nodes;

namespace Scheduler.Worker.NamedJobs;

/// <summary>What a named job is given: its run and its JSON arguments.</summary>
public sealed record NamedJobContext(long RunId, long ScheduleId, DateTimeOffset DueAt, int Attempt, JsonElement? Args);

/// <summary>
/// A handler registered in code by name (seed 003's FUNCTIONS, seed 000's method), run by a worker
/// instead of an HTTP call. Register one with <c>services.AddSingleton&lt;INamedJob, MyJob&gt;()</c>; the
/// worker records its name at startup, so schedules may use it. Throwing fails the attempt (retried like
/// a 5xx); the returned JSON is the run's result (<c>response_excerpt</c>, and <c>data</c> in callbacks).
/// </summary>
public interface INamedJob
{
    string Name { get; }

    string Description { get; }

    /// <summary>An example of the <c>args</c> the job takes, as JSON, for <c>GET /jobs</c>.</summary>
    string? ArgsExample { get; }

    /// <summary>
    /// The arguments the job takes, with their bounds: the API refuses other <c>args</c> with a 400 naming
    /// them, and the worker checks them again before running. Null takes any JSON.
    /// </summary>
    IReadOnlyList<NamedJobArg>? Args => null;

    /// <summary>How long one attempt may take before it is abandoned as TIMEOUT.</summary>
    TimeSpan Timeout { get; }

    Task<JsonNode?> RunAsync(NamedJobContext context, CancellationToken cancellationToken);
}
