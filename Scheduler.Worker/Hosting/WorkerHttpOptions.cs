using System.Net;

namespace Scheduler.Worker.Hosting;

/// <summary>The worker's health port (section <c>Worker</c>): <c>/health/live</c> and <c>/health/ready</c> for probes.</summary>
internal sealed class WorkerHttpOptions
{
    public const string Section = "Worker";

    /// <summary>
    /// The address the health port listens on. Loopback by default, so a worker on a shared machine opens
    /// nothing to the network; the container image sets <c>0.0.0.0</c>, since the kubelet probes from outside.
    /// </summary>
    public string HttpHost { get; set; } = "127.0.0.1";

    /// <summary>The health port. Several workers on one machine each need their own (<c>./run</c> gives worker i the API's port + i).</summary>
    public int HttpPort { get; set; } = 8081;
}

internal sealed class WorkerHttpOptionsValidator : IValidateOptions<WorkerHttpOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerHttpOptions options)
    {
        var errors = new List<string>();
        if (!IPAddress.TryParse(options.HttpHost, out _))
        {
            errors.Add($"Worker:HttpHost must be an IP address to listen on, such as 127.0.0.1 or 0.0.0.0 (got '{options.HttpHost}').");
        }
        if (options.HttpPort is < 1 or > 65535)
        {
            errors.Add($"Worker:HttpPort must be a port number between 1 and 65535 (got {options.HttpPort}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
