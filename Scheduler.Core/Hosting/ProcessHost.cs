namespace Scheduler.Core.Hosting;

/// <summary>The outermost frame of both programs: turns a bad setting into one clear line and an exit code.</summary>
public static class ProcessHost
{
    public const int ConfigurationError = 2;
    public const int Crashed = 1;

    public static async Task<int> RunAsync(string processName, Func<Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        try
        {
            return await run();
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync($"{processName}: configuration error: {string.Join(" ", ex.Failures)}");
            return ConfigurationError;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var log = LoggingSetup.CreateBootstrapLogger(processName);
            log.Fatal(ex, "{Process} stopped: {Message}", processName, ex.Message);
            (log as IDisposable)?.Dispose();
            return Crashed;
        }
    }
}
