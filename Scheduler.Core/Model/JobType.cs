namespace Scheduler.Core.Model;

/// <summary>
/// A named job some worker can run (seed 003's <c>FUNCTIONS</c>, seed 000's <c>method</c>). Workers record
/// the handlers they have at startup, so the API can check <c>job_name</c> without their code.
/// </summary>
public sealed class JobType
{
    public required string Name { get; set; }

    public string? Description { get; set; }

    /// <summary>An example of the JSON <c>args</c> the job takes.</summary>
    public string? ArgsExample { get; set; }

    /// <summary>The arguments the job takes with their bounds (<see cref="Jobs.NamedJobArg"/>, as JSON); null when it takes any JSON.</summary>
    public string? ArgsSpec { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
