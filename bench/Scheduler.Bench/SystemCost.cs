using System.Globalization;
using System.Text.Json.Nodes;
using Npgsql;

namespace Scheduler.Bench;

/// <summary>
/// What a workload phase cost the system under test: CPU of the API, the workers and PostgreSQL read from
/// /proc before and after the phase, and the growth of Scheduler's database, both per run of the phase.
/// The client and its target are not counted in the system's figures: they are the benchmark, not the system. Their own
/// CPU (this process and the Python client it waited for) is reported beside them, since they share the machine.
/// </summary>
internal sealed class SystemCost(int systemPid, string database)
{
    // /proc reports CPU in clock ticks of USER_HZ, which Linux fixes at 100 for user space on every
    // architecture it runs on (sysconf(_SC_CLK_TCK)).
    private const double MillisecondsPerTick = 10;

    /// <summary>One reading: each process's CPU ticks by pid, with its role, the database's size, and the client's own ticks.</summary>
    public sealed record Snapshot(IReadOnlyDictionary<int, (string Role, long Ticks)> Processes, long DatabaseBytes, long ClientTicks);

    /// <summary>
    /// Reads every process of the system: the API and worker processes are ./run's children (found by
    /// their dll, so a restarted process is found again); PostgreSQL is the postmaster serving this
    /// database and all its children. The postmaster's own figure includes the CPU of its children that
    /// have exited (cutime, cstime), so a backend closed during the phase still counts.
    /// </summary>
    public async Task<Snapshot> TakeAsync()
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_backend_pid(), pg_database_size(current_database())", connection);
        int backend;
        long bytes;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            (backend, bytes) = (reader.GetInt32(0), reader.GetInt64(1));
        }
        var stats = ReadAll();
        var postmaster = stats.TryGetValue(backend, out var own) ? own.Parent : -1;
        var children = new Dictionary<int, List<int>>();
        foreach (var (pid, stat) in stats)
        {
            if (!children.TryGetValue(stat.Parent, out var list))
            {
                children[stat.Parent] = list = [];
            }
            list.Add(pid);
        }
        var processes = new Dictionary<int, (string, long)>();
        foreach (var pid in children.GetValueOrDefault(systemPid, []))
        {
            if (Role(pid) is { } role)
            {
                processes[pid] = (role, stats[pid].Own);
            }
        }
        if (stats.TryGetValue(postmaster, out var main))
        {
            processes[postmaster] = ("postgres", main.Own + main.Children);
            foreach (var pid in children.GetValueOrDefault(postmaster, []))
            {
                processes[pid] = ("postgres", stats[pid].Own);
            }
        }
        var client = stats.TryGetValue(Environment.ProcessId, out var self) ? self.Own + self.Children : 0;
        return new Snapshot(processes, bytes, client);
    }

    /// <summary>
    /// Adds <c>{phase}_cpu_ms_per_run_api|workers|postgres|total</c>, <c>{phase}_db_bytes_per_run</c> and the
    /// totals they come from, and <c>{phase}_cpu_ms_per_run_client</c> (the benchmark's own, not in the total). A
    /// process that started during the phase counts from zero; one that ended (a restart) loses what it used in the
    /// phase, which ./run's log would show.
    /// </summary>
    public static void Add(JsonObject result, string phase, Snapshot before, Snapshot after, int runs)
    {
        var ms = new Dictionary<string, double> { ["api"] = 0, ["workers"] = 0, ["postgres"] = 0 };
        foreach (var (pid, (role, ticks)) in after.Processes)
        {
            var start = before.Processes.TryGetValue(pid, out var earlier) && earlier.Role == role ? earlier.Ticks : 0;
            ms[role] += (ticks - start) * MillisecondsPerTick;
        }
        var total = ms.Values.Sum();
        var growth = after.DatabaseBytes - before.DatabaseBytes;
        result[$"{phase}_cost_runs"] = runs;
        // Which processes were read, so a figure that misses one (a restart, a process not found) shows it.
        result[$"{phase}_cost_processes"] = string.Join(", ", after.Processes.Values.GroupBy(p => p.Role).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} {g.Count()}"));
        foreach (var (role, value) in ms)
        {
            result[$"{phase}_cpu_ms_{role}"] = value;
        }
        result[$"{phase}_cpu_ms_total"] = total;
        var client = (after.ClientTicks - before.ClientTicks) * MillisecondsPerTick;
        result[$"{phase}_cpu_ms_client"] = client;
        result[$"{phase}_db_growth_bytes"] = growth;
        double PerRun(double value) => runs == 0 ? double.NaN : Math.Round(value / runs, 3);
        foreach (var (role, value) in ms)
        {
            result[$"{phase}_cpu_ms_per_run_{role}"] = PerRun(value);
        }
        result[$"{phase}_cpu_ms_per_run_total"] = PerRun(total);
        result[$"{phase}_cpu_ms_per_run_client"] = PerRun(client);
        result[$"{phase}_db_bytes_per_run"] = runs == 0 ? double.NaN : Math.Round((double)growth / runs, 1);
        MoreWorkloads.Progress(string.Create(CultureInfo.InvariantCulture,
            $"{phase}: {runs} runs; CPU ms per run API {PerRun(ms["api"])}, workers {PerRun(ms["workers"])}, PostgreSQL {PerRun(ms["postgres"])}, total {PerRun(total)} (the client {PerRun(client)}); database +{growth} bytes"));
    }

    private static string? Role(int pid)
    {
        string cmdline;
        try
        {
            cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
        }
        catch (IOException)
        {
            return null;
        }
        return cmdline.Contains("Scheduler.Api.dll", StringComparison.Ordinal) ? "api"
            : cmdline.Contains("Scheduler.Worker.dll", StringComparison.Ordinal) ? "workers"
            : null;
    }

    /// <summary>Every process's parent and CPU ticks (utime + stime, and cutime + cstime of its reaped children).</summary>
    private static Dictionary<int, (int Parent, long Own, long Children)> ReadAll()
    {
        var all = new Dictionary<int, (int, long, long)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue; // ended while the directory was listed
            }
            // The command name, in parentheses, may hold spaces: the fields are counted after its last ')'.
            // From there, index 0 is field 3 (state), so field n is index n - 3: ppid 4, utime 14 … cstime 17.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long F(int n) => long.Parse(fields[n - 3], CultureInfo.InvariantCulture);
            all[pid] = ((int)F(4), F(14) + F(15), F(16) + F(17));
        }
        return all;
    }
}
