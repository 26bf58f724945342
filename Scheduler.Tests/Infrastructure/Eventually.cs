using System.Diagnostics;

namespace Scheduler.Tests.Infrastructure;

/// <summary>Polls a condition until it holds or a deadline passes: no fixed sleeps in tests.</summary>
public static class Eventually
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(Tick);
        do
        {
            if (await condition())
            {
                return;
            }
        }
        while (clock.Elapsed < timeout && await timer.WaitForNextTickAsync());
        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}.");
    }

    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, what);

    /// <summary>Polls until <paramref name="probe"/> returns a value, and returns it.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what) where T : class
    {
        ArgumentNullException.ThrowIfNull(probe);
        T? value = null;
        await UntilAsync(async () => (value = await probe()) is not null, timeout, what);
        return value!;
    }
}
