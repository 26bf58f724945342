namespace Scheduler.Core.Jobs;

/// <summary>A named job: a handler registered in code, run by a worker with JSON arguments.</summary>
/// <param name="Name">What a schedule's <c>job_name</c> says.</param>
/// <param name="Description">What it does, for <c>GET /jobs</c>.</param>
/// <param name="ArgsExample">An example of its <c>args</c>, as JSON.</param>
/// <param name="Args">The arguments it takes, with their bounds; null when it takes any JSON.</param>
public sealed record NamedJobInfo(string Name, string Description, string? ArgsExample, IReadOnlyList<NamedJobArg>? Args = null);

/// <summary>
/// The named jobs every worker has, all of them for users to schedule. The migrate step records them, so the
/// API knows them before any worker runs. Maintenance (retention, reconciliation) is not among them: it runs
/// on its own as Hangfire recurring jobs (<see cref="IMaintenanceJob"/>) and cannot be scheduled.
/// </summary>
public static class BuiltInJobs
{
    public const string Echo = "echo";
    public const string Sleep = "sleep";
    public const string Fail = "fail";

    /// <summary>The longest a <c>sleep</c> job may sleep: its own timeout.</summary>
    public const int MaxSleepSeconds = 3600;

    public static readonly IReadOnlyList<NamedJobInfo> All =
    [
        new(Echo, "Returns its args as the run's result. For trying schedules and callbacks.", """{"hello": "world"}"""),
        new(Sleep, "Waits the given seconds, then succeeds.", """{"seconds": 5}""",
            [new NamedJobArg("seconds", NamedJobArg.NumberType, Min: 0, Max: MaxSleepSeconds)]),
        new(Fail, "Fails with the given message (a run that always fails, for testing error callbacks).", """{"message": "boom"}""",
            [new NamedJobArg("message", NamedJobArg.StringType, MaxLength: 1000)]),
    ];
}
