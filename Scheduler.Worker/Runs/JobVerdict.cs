using System.Globalization;

namespace Scheduler.Worker.Runs;

/// <summary>How an attempt a job made ended, as recorded: what the job's Hangfire state reports.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Status">The attempt's outcome (SUCCESS, FAILED, TIMEOUT, …; SKIPPED when the run was skipped).</param>
/// <param name="ErrorType">Why it failed, when it did.</param>
/// <param name="Error">The error message, when it failed.</param>
/// <param name="AttemptNumber">Which attempt it was.</param>
/// <param name="MaxAttempts">The attempts the run may make in all.</param>
/// <param name="RetryAt">When the next attempt is due, when a retry is scheduled.</param>
internal sealed record AttemptEnd(long RunId, RunStatus Status, ErrorType? ErrorType, string? Error, int AttemptNumber, int MaxAttempts, DateTimeOffset? RetryAt)
{
    /// <summary>The run ended unsuccessfully with this attempt: nothing more will happen to it unless a person acts.</summary>
    public bool EndedUnsuccessfully => Status.IsUnsuccessful() && RetryAt is null;

    public bool WillRetry => RetryAt is not null;

    /// <summary>Where a person looks at the run: the dashboard's run page and the API's.</summary>
    public static string PagesOf(long runId) => $"/hangfire/runs/{runId} (API: GET /runs/{runId})";
}

/// <summary>What a run job has Hangfire make of its attempts. Hangfire has no "failed, will retry" state, so:</summary>
/// <remarks>
/// <list type="bullet">
/// <item>a run that ended unsuccessfully (no retry to come) fails the job: <see cref="RunsFailedException"/> names
/// each such run, its status, error and page, and the job stays on the Failed page until the run moves on;</item>
/// <item>a failed attempt with a retry scheduled leaves the job Succeeded (it did its work: recorded the attempt and
/// scheduled the next, in another job), with a result that says when the next attempt is;</item>
/// <item>otherwise (success, skip, a run already finished or held elsewhere) the job succeeds with no result.</item>
/// </list>
/// Nothing here reads or writes the database: the ends are what the job just recorded.
/// </remarks>
internal static class JobVerdict
{
    /// <summary>At most this many runs are named; a batch carries up to 200.</summary>
    private const int Named = 20;

    private const int ErrorLength = 200;

    /// <summary>The job's result (null when there is nothing to report), or throws when a run ended unsuccessfully.</summary>
    /// <param name="ends">Each run's end in this job; null for a run that made no attempt here.</param>
    public static string? Of(IReadOnlyList<AttemptEnd?> ends)
    {
        ArgumentNullException.ThrowIfNull(ends);
        var failed = ends.OfType<AttemptEnd>().Where(e => e.EndedUnsuccessfully).ToList();
        var retrying = ends.OfType<AttemptEnd>().Where(e => e.WillRetry).ToList();
        if (failed.Count == 0)
        {
            return retrying.Count == 0 ? null : Retries(retrying, ends.Count);
        }
        var text = failed.Count == 1 && ends.Count == 1
            ? $"Run #{failed[0].RunId} ended {Describe(failed[0])}. See {AttemptEnd.PagesOf(failed[0].RunId)}."
            : $"{failed.Count} of {ends.Count} runs ended unsuccessfully: {List(failed, e => $"#{e.RunId} {Describe(e)}")}. See /hangfire/runs/{{id}} (API: GET /runs/{{id}}).";
        if (retrying.Count > 0)
        {
            text += " " + Retries(retrying, ends.Count);
        }
        throw new RunsFailedException(failed.Select(e => e.RunId).ToArray(), text);
    }

    private static string Retries(List<AttemptEnd> retrying, int runs) => retrying.Count == 1 && runs == 1
        ? $"Run #{retrying[0].RunId} attempt {Attempt(retrying[0])} failed ({Error(retrying[0])}); next attempt at {At(retrying[0])}."
        : $"{retrying.Count} of {runs} runs failed an attempt and will be retried: {List(retrying, e => $"#{e.RunId} attempt {Attempt(e)} ({Error(e)}), next at {At(e)}")}.";

    private static string Describe(AttemptEnd end) =>
        $"{WireName.Of(end.Status)} after attempt {Attempt(end)}: {Error(end)}";

    private static string Attempt(AttemptEnd end) => string.Create(CultureInfo.InvariantCulture, $"{end.AttemptNumber} of {end.MaxAttempts}");

    private static string Error(AttemptEnd end)
    {
        // Without its final full stop: the message goes on after it.
        var message = end.Error?.TrimEnd('.') ?? "no message";
        message = message.Length > ErrorLength ? message[..ErrorLength] + "…" : message;
        return end.ErrorType is { } type ? $"{WireName.Of(type)}, {message}" : message;
    }

    private static string At(AttemptEnd end) => end.RetryAt!.Value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string List(List<AttemptEnd> ends, Func<AttemptEnd, string> describe) =>
        string.Join("; ", ends.Take(Named).Select(describe)) + (ends.Count > Named ? $"; and {ends.Count - Named} more" : "");
}
