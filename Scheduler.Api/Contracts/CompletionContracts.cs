using System.Text.Json;

namespace Scheduler.Api.Contracts;

/// <summary>A callback target's completion of its WAITING run (<c>POST /runs/{id}/complete</c>).</summary>
/// <param name="Status"><c>success</c> or <c>failure</c> (a failure is retried by the schedule's retry policy).</param>
/// <param name="Message">What happened, in a few words (at most 4000 characters).</param>
/// <param name="Output">The job's result, any JSON up to 64 KiB: stored on the run and sent in its callback.</param>
public sealed record CompletionRequest(string? Status, string? Message, JsonElement? Output);

/// <summary>The completion was recorded; a worker ends the run with it within moments (SUCCESS, or FAILED and perhaps retried).</summary>
/// <param name="RunId">The run.</param>
/// <param name="Attempt">The attempt completed.</param>
/// <param name="Status"><c>success</c> or <c>failure</c>, as given.</param>
public sealed record CompletionResponse(long RunId, int Attempt, string Status);

/// <summary>The heartbeat moved the deadline of the WAITING attempt.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Attempt">The attempt still waiting.</param>
/// <param name="CompletionDeadlineAt">Without a completion or another heartbeat by then, the attempt ends with <c>completion_timeout</c>.</param>
public sealed record HeartbeatResponse(long RunId, int Attempt, DateTimeOffset CompletionDeadlineAt);
