using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Streams.Infrastructure.Hosting;
using Streams.Infrastructure.Postgres;

namespace Streams.Benchmarks.Load;

/// <summary>A load command's option that cannot be used: the command exits with code 2 and this one-line reason.</summary>
internal sealed class LoadOptionException(string message) : Exception(message);

/// <summary>What the load commands share: their options, the machine's description and where the results go.</summary>
internal static class LoadRun
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>
    /// Fires when the run is asked to stop. A signal (SIGTERM, Ctrl+C) stops <paramref name="host"/>'s lifetime through its
    /// console lifetime, but a host started without waiting for its shutdown keeps its workers running until the command
    /// stops it: the command's own waits have to watch this.
    /// </summary>
    public static CancellationToken Stopping(IHost host) => host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;

    /// <summary>Removes a run's state dir; one that cannot be removed is named on stderr, not a failure of the run.</summary>
    public static void TryDelete(string directory, string command)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"{command}: could not remove {directory}: {e.Message}");
        }
    }

    /// <summary>Ends the run, saying why, once <paramref name="stopping"/> (<see cref="Stopping"/>) fired.</summary>
    public static void ThrowIfStopping(CancellationToken stopping)
    {
        if (stopping.IsCancellationRequested)
        {
            throw new OperationCanceledException("the run was asked to stop (SIGTERM or Ctrl+C)", stopping);
        }
    }

    /// <summary>
    /// Turns PostgreSQL's statement tracking on for a measured part when <paramref name="top"/> asks for statements (the
    /// <c>--statements</c> option): the throwaway cluster's connection string to read them with, or null, said on the
    /// console, when there is nothing to read (an external database, or a server without the module).
    /// </summary>
    public static async Task<string?> StartStatementsAsync(StreamsEnvironment environment, int top, string command)
    {
        if (top <= 0)
        {
            return null;
        }

        if (environment.LocalPostgres is { } cluster && await StatementStatistics.StartAsync(cluster.ConnectionString).ConfigureAwait(false))
        {
            return cluster.ConnectionString;
        }

        Console.WriteLine($"{command}: --statements has nothing to read: it needs the throwaway PostgreSQL (14 or later, with pg_stat_statements).");
        return null;
    }

    /// <summary>The <paramref name="top"/> costliest statements of the workers' database since <see cref="StartStatementsAsync"/>; null when it returned null.</summary>
    public static async Task<StatementCosts?> ReadStatementsAsync(string? connectionString, int top) =>
        connectionString is null ? null
            : await StatementStatistics.ReadAsync(connectionString, new NpgsqlConnectionStringBuilder(connectionString).Database!, top).ConfigureAwait(false);

    /// <summary>The whole number after <paramref name="name"/>, or <paramref name="fallback"/> when the option is absent.</summary>
    public static int Option(string[] args, string name, int fallback, int min, int max = int.MaxValue)
    {
        var i = Array.IndexOf(args, name);
        if (i < 0)
        {
            return fallback;
        }

        var text = i + 1 < args.Length ? args[i + 1] : null;
        if (!int.TryParse(text?.Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var value)
            || value < min || value > max)
        {
            throw new LoadOptionException(
                $"{name} takes a whole number from {min:N0} to {max:N0}; got {(text is null ? "nothing" : $"'{text}'")}.");
        }

        return value;
    }

    /// <summary>
    /// Refuses anything after the command name that is neither one of <paramref name="known"/> (each followed by its value)
    /// nor a host setting (<c>--Section:Key=value</c>), so that a typo never runs silently with a default.
    /// </summary>
    public static void RejectUnknown(string[] args, params string[] known)
    {
        for (var i = 1; i < args.Length; i++)
        {
            if (known.Contains(args[i], StringComparer.Ordinal))
            {
                i++;
            }
            else if (!IsHostSetting(args[i]))
            {
                throw new LoadOptionException(
                    $"unknown option '{args[i]}'; this command takes {string.Join(", ", known)} and host settings as --Section:Key=value.");
            }
        }
    }

    /// <summary>A configuration override for the host under test, e.g. <c>--Profiles:BatchSize=4000</c>.</summary>
    public static bool IsHostSetting(string arg) =>
        arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf(':', StringComparison.Ordinal) > 2 && arg.Contains('=', StringComparison.Ordinal);

    /// <summary>
    /// Runs blocking work on a thread of its own, named before it starts (Linux then shows the name) so that the
    /// benchmark's own CPU stands apart from the workers' in the breakdown by thread name, and counted there even when
    /// the thread has ended by the time of the reading.
    /// </summary>
    public static Task<T> OnOwnThread<T>(string name, Func<T> work, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                cancellationToken.ThrowIfCancellationRequested();
                done.SetResult(work());
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                done.SetCanceled(cancellationToken);
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
            finally
            {
                ProcessResources.ThreadEnded(name);
            }
        })
        {
            Name = name,
            IsBackground = true,
        };
        thread.Start();
        return done.Task;
    }

    /// <inheritdoc cref="OnOwnThread{T}"/>
    public static Task OnOwnThread(string name, Action work, CancellationToken cancellationToken = default) =>
        OnOwnThread(name, () =>
        {
            work();
            return true;
        }, cancellationToken);

    /// <summary>The middle value (the mean of the two middle ones for an even count): what a typical run of a noisy machine gave.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    public static string Machine() => $"{Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}";

    /// <summary>The 1-minute load average: how shared the machine was (above the core count, others were waiting too).</summary>
    public static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return double.NaN;
        }
    }

    /// <summary>Prints <paramref name="result"/> as JSON and writes it to <c>&lt;name&gt;.json</c> in the current folder.</summary>
    public static async Task<string> WriteJsonAsync(string name, object result)
    {
        var json = JsonSerializer.Serialize(result, Indented);
        Console.WriteLine(json);
        var file = Path.Combine(Directory.GetCurrentDirectory(), name + ".json");
        await File.WriteAllTextAsync(file, json);
        Console.WriteLine($"written to {file}");
        return file;
    }
}

/// <summary>
/// What the garbage collector did in this process between two readings: bytes allocated on every thread (the workers,
/// the clients' managed parts and the benchmark's own threads alike), collections by generation, and the time the
/// process was paused for them.
/// </summary>
internal sealed record GcActivity(long AllocatedBytes, int Gen0, int Gen1, int Gen2, TimeSpan Paused)
{
    public static GcActivity Now() => new(GC.GetTotalAllocatedBytes(precise: false), GC.CollectionCount(0), GC.CollectionCount(1),
        GC.CollectionCount(2), GC.GetTotalPauseDuration());

    public GcActivity Since(GcActivity before)
    {
        ArgumentNullException.ThrowIfNull(before);
        return new(AllocatedBytes - before.AllocatedBytes, Gen0 - before.Gen0, Gen1 - before.Gen1, Gen2 - before.Gen2, Paused - before.Paused);
    }
}

/// <summary>
/// What the JIT compiled in this process (<see cref="System.Runtime.JitInfo"/>, every thread): methods and the time spent
/// compiling them. Tiered compilation keeps compiling well after start-up (each hot method again with its profile), on a
/// thread of its own that ends whenever it has nothing left: a run whose warm-up was too short pays for it in the timed part.
/// </summary>
internal sealed record JitActivity(long Methods, TimeSpan Compiling)
{
    /// <summary>How long the JIT must have compiled nothing for <see cref="Settle"/> to return.</summary>
    public static readonly TimeSpan SettleQuiet = TimeSpan.FromSeconds(1);

    /// <summary>The longest <see cref="Settle"/> waits.</summary>
    public static readonly TimeSpan SettleLongest = TimeSpan.FromSeconds(30);

    public static JitActivity Now() => new(System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime());

    /// <summary>The methods and seconds as the JSON report writes them.</summary>
    public Dictionary<string, object?> ToJson() => new() { ["methods"] = Methods, ["compiling_s"] = Math.Round(Compiling.TotalSeconds, 3) };

    public JitActivity Since(JitActivity before)
    {
        ArgumentNullException.ThrowIfNull(before);
        return new(Methods - before.Methods, Compiling - before.Compiling);
    }

    /// <summary>
    /// Waits until the JIT has compiled nothing for <see cref="SettleQuiet"/>, at most <see cref="SettleLongest"/>; returns
    /// how long it waited. Tiered compilation holds back its promotions while any new method is being compiled (the
    /// runtime's call-counting delay), and a host under load keeps meeting methods for the first time, so much of what a
    /// warm-up made hot is promoted only once the load pauses: this is that pause.
    /// </summary>
    public static TimeSpan Settle(CancellationToken cancellationToken)
    {
        var (quiet, longest) = (SettleQuiet, SettleLongest);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var quietSince = started.Elapsed;
        var methods = System.Runtime.JitInfo.GetCompiledMethodCount();
        while (started.Elapsed < longest && started.Elapsed - quietSince < quiet && !cancellationToken.IsCancellationRequested)
        {
            cancellationToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(100));
            var now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != methods)
            {
                (methods, quietSince) = (now, started.Elapsed);
            }
        }

        return started.Elapsed;
    }
}

/// <summary>
/// The machine's CPU time since boot from the first line of Linux's <c>/proc/stat</c>, in ticks: idle (with time waiting
/// for I/O, when no task was runnable either) and busy (user, nice, system, interrupts, time stolen by the hypervisor).
/// Between two readings it tells whether the cores had work: a saturated run leaves little idle, one held by its latency
/// (every stage waiting for a batch, a fetch or an acknowledgement) leaves cores idle that a bigger queue would fill.
/// </summary>
internal readonly record struct MachineCpu(long Idle, long Busy)
{
    /// <summary>The first line of <c>/proc/stat</c>; null when it cannot be read (not Linux).</summary>
    public static MachineCpu? Now()
    {
        try
        {
            using var reader = new StreamReader("/proc/stat");
            return reader.ReadLine() is { } line ? Parse(line) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// <c>cpu  user nice system idle iowait irq softirq steal guest guest_nice</c>: guest time is in user time already, so
    /// it is not added again; a kernel that lists fewer fields counts the missing ones as 0.
    /// </summary>
    public static MachineCpu Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields[0] != "cpu")
        {
            throw new FormatException("not the machine's line of /proc/stat");
        }

        long Field(int index) => index < fields.Length ? long.Parse(fields[index], CultureInfo.InvariantCulture) : 0;
        return new(Field(4) + Field(5), Field(1) + Field(2) + Field(3) + Field(6) + Field(7) + Field(8));
    }

    /// <summary>The share of all cores' time that was idle between <paramref name="before"/> and this reading; NaN for no time.</summary>
    public double IdleShareSince(MachineCpu before)
    {
        var idle = Idle - before.Idle;
        var total = idle + Busy - before.Busy;
        return total > 0 ? (double)idle / total : double.NaN;
    }
}

/// <summary>CPU and memory of this process and of the throwaway PostgreSQL, read from Linux's /proc (NaN or 0 elsewhere).</summary>
internal static class ProcessResources
{
    // USER_HZ: the unit of utime and stime in /proc/<pid>/stat, 100 on every Linux build that matters here.
    private const double TicksPerSecond = 100;

    /// <summary>
    /// CPU seconds the throwaway cluster's processes have used (the same cores the workers run on), those that have ended
    /// included: an autovacuum worker or a closed connection's backend lives for seconds, and once the postmaster has
    /// reaped it, its CPU is in no live process's own time, only in the postmaster's time of the children it waited for.
    /// </summary>
    public static double PostgresCpuSeconds(StreamsEnvironment environment)
    {
        var processes = PostgresProcesses(environment).Select(p => p.StatFields).ToList();
        return processes.Count > 0 ? CpuTicksWithReapedChildren(processes) / TicksPerSecond : double.NaN;
    }

    /// <summary>
    /// The fields of a <c>/proc/&lt;pid&gt;/stat</c> text after the command's name, which may itself hold spaces and
    /// parentheses: the state first, so that user time (the 14th field of the file) is at index 11.
    /// </summary>
    internal static string[] StatFields(string stat) => stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

    /// <summary>
    /// The CPU ticks of a tree of processes from each one's <see cref="StatFields"/>: its own user and system time and those of the children it has waited for (<c>cutime</c>,
    /// <c>cstime</c>). A child that ends and is reaped moves its time (and its own reaped children's) into its parent's
    /// second pair, so the sum over the live processes neither loses nor counts twice what the ended ones used.
    /// </summary>
    internal static long CpuTicksWithReapedChildren(IEnumerable<string[]> statFields)
    {
        var ticks = 0L;
        foreach (var fields in statFields)
        {
            for (var field = 11; field <= 14; field++)
            {
                ticks += long.Parse(fields[field], CultureInfo.InvariantCulture);
            }
        }

        return ticks;
    }

    /// <summary>
    /// Memory of the throwaway cluster: the sum of its processes' proportional set sizes, so that the shared buffers every
    /// backend maps count once, not once per backend. 0 when it cannot be read.
    /// </summary>
    public static long PostgresMemoryBytes(StreamsEnvironment environment)
    {
        var total = 0L;
        foreach (var (dir, _) in PostgresProcesses(environment))
        {
            total += KibField(Path.Combine(dir, "smaps_rollup"), "Pss:");
        }

        return total * 1024;
    }

    /// <summary>This process's resident memory now.</summary>
    public static long OwnResidentBytes() => KibField("/proc/self/status", "VmRSS:") * 1024;

    /// <summary>This process's highest resident memory since it started.</summary>
    public static long OwnPeakResidentBytes() => KibField("/proc/self/status", "VmHWM:") * 1024;

    private static readonly System.Collections.Concurrent.ConcurrentQueue<(int Id, string Name, double Seconds)> Ended = new();

    /// <summary>Notes the CPU the calling thread used, as it ends: a reading after that no longer sees it.</summary>
    public static void ThreadEnded(string name)
    {
        var (id, _, seconds) = ThreadStat("/proc/thread-self/stat");
        // Under the id it had while it ran, so that readings from before and after it ended agree on which thread it is.
        Ended.Enqueue((id ?? -1 - Ended.Count, name, seconds));
    }

    /// <summary>
    /// CPU seconds of each live thread of this process by thread id, and of the threads of <see cref="LoadRun.OnOwnThread{T}"/>
    /// that ended, under the ids they had, with the thread's name.
    /// </summary>
    public static IReadOnlyDictionary<int, (string Name, double Seconds)> ThreadCpuSeconds()
    {
        var result = new Dictionary<int, (string, double)>();
        foreach (var (id, name, seconds) in Ended)
        {
            result[id] = (name, seconds);
        }

        if (!Directory.Exists("/proc/self/task"))
        {
            return result;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
        {
            var (_, name, seconds) = ThreadStat(Path.Combine(dir, "stat"));
            if (name.Length > 0)
            {
                result[int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture)] = (name, seconds);
            }
        }

        return result;
    }

    private static (int? Id, string Name, double Seconds) ThreadStat(string file)
    {
        try
        {
            var stat = File.ReadAllText(file);
            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            var fields = StatFields(stat);
            return (int.TryParse(stat.AsSpan(0, Math.Max(open - 1, 0)), CultureInfo.InvariantCulture, out var id) ? id : null, stat[(open + 1)..close],
                (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A thread that ended meanwhile, or not Linux.
            return (null, "", 0);
        }
    }

    /// <summary>
    /// CPU seconds used between two <see cref="ThreadCpuSeconds"/> readings, by thread name with its digits removed
    /// (<c>rdk:broker</c>, <c>.NET TP Worker</c>, <c>.NET Long Runni</c>…), largest first. Threads that ended between the
    /// readings are not counted.
    /// </summary>
    public static IReadOnlyDictionary<string, double> ThreadCpuDelta(
        IReadOnlyDictionary<int, (string Name, double Seconds)> before, IReadOnlyDictionary<int, (string Name, double Seconds)> after) =>
        ByThreadName(after.Select(t => (t.Value.Name, t.Value.Seconds - (before.TryGetValue(t.Key, out var b) ? b.Seconds : 0))));

    /// <summary>CPU seconds used by threads, summed by thread name with its digits removed; only names that used some, largest first.</summary>
    internal static IReadOnlyDictionary<string, double> ByThreadName(IEnumerable<(string Name, double Used)> threads) =>
        threads.GroupBy(t => new string([.. t.Name.Where(c => !char.IsAsciiDigit(c))]).Trim())
            .Select(g => (g.Key, Seconds: g.Sum(t => t.Used)))
            .Where(g => g.Seconds > 0)
            .OrderByDescending(g => g.Seconds)
            .ToDictionary(g => g.Key, g => Math.Round(g.Seconds, 2), StringComparer.Ordinal);

    private static IEnumerable<(string Directory, string[] StatFields)> PostgresProcesses(StreamsEnvironment environment)
    {
        var pidFile = environment.LocalPostgres is { } cluster ? Path.Combine(cluster.Directory, "data", "postmaster.pid") : null;
        if (pidFile is null || !File.Exists(pidFile))
        {
            yield break;
        }

        var postmaster = File.ReadLines(pidFile).First().Trim();
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => Path.GetFileName(d).All(char.IsAsciiDigit)))
        {
            string[] fields;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                fields = StatFields(stat);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A process that ended meanwhile, or not ours to read.
                continue;
            }

            if (Path.GetFileName(dir) == postmaster || fields[1] == postmaster)
            {
                yield return (dir, fields);
            }
        }
    }

    // A "Name:   1234 kB" line of a /proc file, in KiB; 0 when the file or the line cannot be read.
    private static long KibField(string file, string name)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
            {
                if (line.StartsWith(name, StringComparison.Ordinal))
                {
                    return long.Parse(line[name.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // Not Linux, a process that ended, or not ours to read.
        }

        return 0;
    }
}

/// <summary>
/// Every thread's CPU, read once a <c>period</c> while a run goes on, so that threads which end before the run does still
/// count, under their name, with what they had used when last read: the runtime's tiered-compilation worker ends whenever
/// its queue is empty, retired thread-pool workers end, and a reading at the end alone never sees them. At most one period
/// of such a thread's CPU is missed (none of a thread of <see cref="LoadRun.OnOwnThread{T}"/>, which notes its own).
/// </summary>
internal sealed class ThreadCpuTracker : IDisposable
{
    private readonly Dictionary<int, (string Name, double Base, double Last)> threads = [];
    private readonly List<(string Name, double Used)> gone = [];
    private readonly Lock gate = new();
    private readonly Timer? timer;

    public ThreadCpuTracker(TimeSpan period)
        : this(ProcessResources.ThreadCpuSeconds()) => timer = new Timer(_ => Read(), null, period, period);

    /// <summary>A tracker that counts from <paramref name="start"/> and takes only the readings it is given (<see cref="Merge"/>).</summary>
    internal ThreadCpuTracker(IReadOnlyDictionary<int, (string Name, double Seconds)> start)
    {
        foreach (var (id, (name, seconds)) in start)
        {
            threads[id] = (name, seconds, seconds);
        }
    }

    /// <summary>
    /// CPU seconds by thread name (<see cref="ProcessResources.ByThreadName"/>) since the tracker started, ended threads
    /// included.
    /// </summary>
    public IReadOnlyDictionary<string, double> Stop()
    {
        timer?.Dispose();
        Read();
        return Totals();
    }

    /// <summary>What <see cref="Stop"/> returns, from the readings taken so far.</summary>
    internal IReadOnlyDictionary<string, double> Totals()
    {
        lock (gate)
        {
            return ProcessResources.ByThreadName(threads.Values.Select(t => (t.Name, t.Last - t.Base)).Concat(gone));
        }
    }

    public void Dispose() => timer?.Dispose();

    private void Read() => Merge(ProcessResources.ThreadCpuSeconds());

    /// <summary>Takes one reading in; a thread's CPU only grows, so a smaller one (or another name) is a new thread under a reused id.</summary>
    internal void Merge(IReadOnlyDictionary<int, (string Name, double Seconds)> reading)
    {
        lock (gate)
        {
            foreach (var (id, (name, seconds)) in reading)
            {
                if (threads.TryGetValue(id, out var known))
                {
                    if (known.Name == name && seconds >= known.Last)
                    {
                        threads[id] = known with { Last = seconds };
                        continue;
                    }

                    gone.Add((known.Name, known.Last - known.Base));
                }

                threads[id] = (name, 0, seconds);
            }
        }
    }
}
