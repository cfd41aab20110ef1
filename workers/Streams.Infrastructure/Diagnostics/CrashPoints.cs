using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Streams.Infrastructure.Diagnostics;

/// <summary>
/// Named places where a crash test can make the process die abruptly (SIGKILL to itself), to prove that a worker
/// that stops at the worst moment loses nothing and counts nothing twice. Off unless the environment variable
/// <c>STREAMS_CRASH_POINTS</c> names points, as <c>name@n[,name@n…]</c>: die the n-th time <c>name</c> is reached.
/// <c>STREAMS_STOP_POINTS</c>, in the same form, sends the process SIGTERM there instead and carries on, to prove that
/// a graceful stop asked for at that moment finishes (or safely abandons) the batch in hand.
/// </summary>
public static partial class CrashPoints
{
    public const string Variable = "STREAMS_CRASH_POINTS";

    public const string StopVariable = "STREAMS_STOP_POINTS";

    private const int SigTerm = 15;
    private static readonly Dictionary<string, int> Armed = Parse(Environment.GetEnvironmentVariable(Variable));
    private static readonly Dictionary<string, int> Stops = Parse(Environment.GetEnvironmentVariable(StopVariable));
    private static readonly ConcurrentDictionary<string, int> Hits = new(StringComparer.Ordinal);

    /// <summary>True when any point is armed (so callers can skip work that only serves a crash).</summary>
    public static bool Enabled => Armed.Count > 0;

    /// <summary>Marks that execution reached <paramref name="name"/>; dies (or asks to stop) here if this is the armed hit.</summary>
    public static void Reach(string name)
    {
        if (Armed.Count == 0 && Stops.Count == 0)
        {
            return;
        }

        // 0: not armed (counts start at 1).
        var (at, stopAt) = (Armed.GetValueOrDefault(name), Stops.GetValueOrDefault(name));
        if (at == 0 && stopAt == 0)
        {
            return;
        }

        var hit = Hits.AddOrUpdate(name, 1, (_, n) => n + 1);
        if (hit == stopAt)
        {
            Console.Error.WriteLine($"stop point {name}@{stopAt} reached: sending SIGTERM to the process");
            Console.Error.Flush();
            _ = Kill(Environment.ProcessId, SigTerm);
        }

        if (hit == at)
        {
            Console.Error.WriteLine($"crash point {name}@{at} reached: killing the process");
            Console.Error.Flush();
            Process.GetCurrentProcess().Kill();
            Thread.Sleep(Timeout.Infinite);
        }
    }

    internal static Dictionary<string, int> Parse(string? value)
    {
        var armed = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = item.LastIndexOf('@');
            if (at > 0 && int.TryParse(item[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
            {
                armed[item[..at]] = n;
            }
        }

        return armed;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
