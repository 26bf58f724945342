using System.Text.Json;
using Scheduler.Worker.Runs;

namespace Scheduler.Worker.NamedJobs;

/// <summary>Runs a run's named job and turns what happened into an outcome, like an HTTP call's.</summary>
internal sealed class NamedJobRunner(IEnumerable<INamedJob> jobs, TimeProvider time, IOptions<ExecutionOptions> options, ILogger<NamedJobRunner> logger)
{
    /// <summary>The most of an exception's message that API callers and callbacks are given.</summary>
    public const int MaxErrorMessageLength = 500;

    private readonly Dictionary<string, INamedJob> _jobs = jobs.ToDictionary(j => j.Name, StringComparer.Ordinal);

    public IReadOnlyCollection<INamedJob> Jobs => _jobs.Values;

    /// <summary>Throws <see cref="OperationCanceledException"/> only when the caller cancels.</summary>
    public async Task<CallOutcome> RunAsync(RunPlan plan, int attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var startedAt = time.GetUtcNow();
        var started = time.GetTimestamp();
        double Elapsed() => Math.Round(time.GetElapsedTime(started).TotalMilliseconds, 3);
        if (!_jobs.TryGetValue(plan.JobName!, out var job))
        {
            return new CallOutcome(RunStatus.Failed, startedAt, time.GetUtcNow(), 0, ErrorType: ErrorType.JobFailed,
                ErrorMessage: $"No handler named '{plan.JobName}' in this worker (it has: {string.Join(", ", _jobs.Keys.Order())}).");
        }
        using var timeout = new CancellationTokenSource(job.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var args = plan.JobArgs is null ? (JsonElement?)null : JsonDocument.Parse(plan.JobArgs).RootElement;
            // The API checked them; a schedule from before the job declared its arguments may still hold others.
            if (NamedJobArg.Check(job.Name, job.Args, args).Select(p => $"{p.Field} {p.Message}").ToList() is { Count: > 0 } problems)
            {
                return new CallOutcome(RunStatus.Failed, startedAt, time.GetUtcNow(), Elapsed(), ErrorType: ErrorType.JobFailed,
                    ErrorMessage: $"Invalid args for '{job.Name}': {string.Join("; ", problems)}");
            }
            var result = await job.RunAsync(new NamedJobContext(plan.RunId, plan.ScheduleId, plan.DueAt, attempt, args), linked.Token);
            var json = result?.ToJsonString() ?? "null";
            var limit = plan.NoResponse ? 0 : options.Value.ResponseExcerptBytes;
            return new CallOutcome(RunStatus.Success, startedAt, time.GetUtcNow(), Elapsed(),
                ResponseSizeBytes: System.Text.Encoding.UTF8.GetByteCount(json), ResponseExcerpt: json.Length <= limit ? json : json[..limit]);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return new CallOutcome(RunStatus.Timeout, startedAt, time.GetUtcNow(), Elapsed(), ErrorType: ErrorType.Timeout,
                ErrorMessage: $"The job '{job.Name}' did not finish within {job.Timeout}.");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The stack trace names the worker's code and stays in its log; callers and callbacks get what failed.
            Log.NamedJobFailed(logger, ex, plan.RunId, attempt, job.Name);
            var message = $"{ex.GetType().Name}: {ex.Message}";
            return new CallOutcome(RunStatus.Failed, startedAt, time.GetUtcNow(), Elapsed(), ErrorType: ErrorType.JobFailed,
                ErrorMessage: message.Length <= MaxErrorMessageLength ? message : message[..MaxErrorMessageLength] + "…");
        }
    }
}
