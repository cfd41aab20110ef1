using System.Globalization;

namespace Streams.IntegrationTests.Chaos;

/// <summary>How large a chaos run is, from the environment (documented in benchmarks/README.md).</summary>
/// <param name="Customers">Simulated customers (<c>STREAMS_CHAOS_CUSTOMERS</c>, default 250).</param>
/// <param name="Kills">SIGKILLs at least (<c>STREAMS_CHAOS_KILLS</c>, default 20).</param>
/// <param name="Seed">Seed of the traffic and of the plan (<c>STREAMS_CHAOS_SEED</c>, default 14).</param>
internal sealed record ChaosSettings(int Customers, int Kills, int Seed)
{
    /// <summary>Partitions per topic: more for more customers, so no partition nears the embedded broker's ~5 MiB.</summary>
    public int Partitions => Math.Max(4, Customers / 500);

    public static ChaosSettings FromEnvironment() =>
        new(Read("STREAMS_CHAOS_CUSTOMERS", 250, min: 50), Read("STREAMS_CHAOS_KILLS", 20, min: 8), Read("STREAMS_CHAOS_SEED", 14, min: 0));

    private static int Read(string variable, int fallback, int min) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } text
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min
                ? value
                : throw new InvalidOperationException($"{variable} must be a whole number of at least {min}, not '{text}'")
            : fallback;
}

internal enum Fault
{
    None,

    /// <summary>The broker refuses connections for a few seconds.</summary>
    BrokerDown,

    /// <summary>PostgreSQL is stopped (fast shutdown) and started again.</summary>
    PostgresRestart,

    /// <summary>The next produce, fetch and offset-commit requests fail with retriable errors.</summary>
    RequestErrors,
}

/// <summary>One host generation: its instances start, the fault happens, each instance is killed at its moment.</summary>
/// <param name="Instances">Host processes running side by side (every worker twice when 2).</param>
/// <param name="AfterReady">Whether the kills wait until the first instance is ready (else they may hit its start).</param>
/// <param name="KillAfter">Per instance, when it is killed after the episode's fault (or its start).</param>
internal sealed record Episode(int Instances, Fault Fault, bool AfterReady, IReadOnlyList<TimeSpan> KillAfter)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Instances}x {Fault}{(AfterReady ? " after ready" : "")}, kill at {string.Join("/", KillAfter.Select(k => $"{k.TotalSeconds:0.0}s"))}");
}

/// <summary>A seeded sequence of episodes with at least the requested kills and every fault.</summary>
internal sealed record ChaosPlan(IReadOnlyList<Episode> Episodes)
{
    // What a restarted host takes before it works: the process start, and the consumer groups waiting out the killed
    // member's session (6 s) before they assign its partitions again.
    private static readonly TimeSpan StartToReady = TimeSpan.FromSeconds(7);
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(6);

    /// <summary>Roughly how long the plan takes, to pace the stream over it.</summary>
    public TimeSpan ExpectedDuration => TimeSpan.FromTicks(Episodes.Sum(e =>
        (e.AfterReady || e.Fault != Fault.None ? StartToReady.Ticks : 0) + (e.Fault is Fault.BrokerDown or Fault.PostgresRestart ? Outage.Ticks : 0)
        + e.KillAfter.Max().Ticks));

    public static ChaosPlan Create(int kills, Random random)
    {
        // Four episodes of two instances each kill twice.
        const int pairs = 4;
        var count = kills - pairs;
        var pair = count / 3;
        var faults = new Dictionary<int, Fault>
        {
            [1] = Fault.RequestErrors, [count / 4] = Fault.BrokerDown, [pair + 1] = Fault.RequestErrors,
            [(count / 2) + 1] = Fault.PostgresRestart, [3 * count / 4] = Fault.PostgresRestart, [count - 2] = Fault.RequestErrors,
        };
        var episodes = new List<Episode>();
        for (var i = 0; i < count; i++)
        {
            var instances = i >= pair && i < pair + pairs ? 2 : 1;
            var fault = faults.GetValueOrDefault(i);
            // Half the plain episodes kill at any moment from the start on: during start-up, recovery, the first
            // batches; the rest once the workers are in their groups, part-way through the stream.
            var afterReady = fault != Fault.None || random.NextDouble() < 0.5;
            var killAfter = Enumerable.Range(0, instances)
                .Select(_ => TimeSpan.FromMilliseconds(afterReady ? random.Next(0, 2000) : random.Next(1000, 5000))).ToList();
            episodes.Add(new Episode(instances, fault, afterReady, killAfter));
        }

        return new ChaosPlan(episodes);
    }

    public override string ToString() => $"{Episodes.Count} episodes, about {ExpectedDuration.TotalSeconds:0} s";
}
