using System.Globalization;
using System.Net.Sockets;

namespace Scheduler.Tests.Infrastructure;

/// <summary>
/// Ports for processes a test starts, which bind them seconds after the choice (after a build, a
/// migration check, a cluster's initdb). A port the kernel hands out for "any free port" lies in its
/// ephemeral range, where every outgoing connection of the machine (to PostgreSQL, to a target) takes
/// its local port too, so in those seconds it can be taken: CI saw a worker refuse to start because
/// its health port, SCHEDULER_PORT + 1, had become some connection's local port. These ports come from
/// below the ephemeral range, where nothing binds unasked, and none is handed out twice in a test run.
/// </summary>
internal static class FreePorts
{
    private const int Lowest = 10000;
    private static readonly Lock s_lock = new();
    private static readonly HashSet<int> s_given = [];

    /// <summary>One free port.</summary>
    public static int One() => Block(1);

    /// <summary>The first of <paramref name="count"/> consecutive free ports (./run gives worker i SCHEDULER_PORT + i).</summary>
    public static int Block(int count)
    {
        var highest = EphemeralLow() - count;
        lock (s_lock)
        {
            for (var attempt = 0; attempt < 1000; attempt++)
            {
                var first = Random.Shared.Next(Lowest, highest);
                var ports = Enumerable.Range(first, count).ToList();
                if (ports.Any(s_given.Contains) || !ports.All(IsFree))
                {
                    continue;
                }
                s_given.UnionWith(ports);
                return first;
            }
        }
        throw new InvalidOperationException($"No {count} consecutive free port(s) between {Lowest} and {highest + count}.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The low end of the kernel's ephemeral port range (Linux's default 32768 where it cannot be read).</summary>
    private static int EphemeralLow()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        var text = File.Exists(range) ? File.ReadAllText(range).Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries) : [];
        return text.Length > 0 && int.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out var low) && low > Lowest + 1000 ? low : 32768;
    }
}
