namespace Scheduler.Core.Jobs;

/// <summary>A named job: a handler registered in code, run by a worker with JSON arguments.</summary>
/// <param name="Name">What a schedule's <c>job_name</c> says.</param>
/// <param name="Description">What it does, for <c>GET /jobs</c>.</param>
/// <param name="ArgsExample">An example of its <c>args</c>, as JSON.</param>
public sealed record NamedJobInfo(string Name, string Description, string? ArgsExample);

/// <summary>The named jobs every worker has. The migrate step records them, so the API knows them before any worker runs.</summary>
public static class BuiltInJobs
{
    public const string Echo = "echo";
    public const string Sleep = "sleep";
    public const string Fail = "fail";
    public const string Retention = "retention";

    public static readonly IReadOnlyList<NamedJobInfo> All =
    [
        new(Echo, "Returns its args as the run's result. For trying schedules and callbacks.", """{"hello": "world"}"""),
        new(Sleep, "Waits the given seconds, then succeeds.", """{"seconds": 5}"""),
        new(Fail, "Fails with the given message (a run that always fails, for testing error callbacks).", """{"message": "boom"}"""),
        new(Retention, "Deletes runs that ended more than older_than_days ago (default Execution:RetentionDays), with their attempts and deliveries.", """{"older_than_days": 30}"""),
    ];
}
