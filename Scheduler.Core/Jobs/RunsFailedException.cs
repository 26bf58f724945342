namespace Scheduler.Core.Jobs;

/// <summary>
/// Thrown by a run's Hangfire job after it recorded its runs, when one or more of them ended unsuccessfully
/// with no retry to come, so the job ends in Hangfire's Failed state: the Failed page lists the runs that
/// need a person. Hangfire's automatic retry leaves it alone (it retries only database failures), the
/// failed job is kept until its runs are retried, succeed or are deleted (<see cref="FailedRunJobs"/>), and
/// a requeue retries only these runs (<see cref="ManualRequeueFilter"/>).
/// </summary>
public sealed class RunsFailedException : Exception
{
    public RunsFailedException()
    {
    }

    public RunsFailedException(string message)
        : base(message)
    {
    }

    public RunsFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RunsFailedException(IReadOnlyList<long> runIds, string message)
        : base(message)
    {
        RunIds = runIds;
    }

    /// <summary>The runs that ended unsuccessfully in the job.</summary>
    public IReadOnlyList<long> RunIds { get; } = [];

    /// <summary>
    /// No stack: the exception reports what the runs did, not a fault in the code, and Hangfire shows the
    /// stack as the failure's details, where the message (which runs, why, where to look) is more use.
    /// </summary>
    public override string? StackTrace => null;
}
