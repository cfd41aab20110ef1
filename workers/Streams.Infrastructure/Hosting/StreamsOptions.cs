using System.ComponentModel.DataAnnotations;

namespace Streams.Infrastructure.Hosting;

/// <summary>Process-wide settings (section <c>Streams</c>).</summary>
public sealed class StreamsOptions
{
    public const string Section = "Streams";

    /// <summary>Where the host keeps local state: embedded addresses, the development key, state stores (default <c>.streams</c>).</summary>
    [Required] public string StateDir { get; set; } = ".streams";

    /// <summary>
    /// Which workers this host runs, comma-separated names from <see cref="WorkerSelection.Names"/>, or
    /// <c>all</c> (default); <c>--only</c> on the command line sets it. Operators scale the workers separately by
    /// running hosts with different lists.
    /// </summary>
    [Required] public string Workers { get; set; } = WorkerSelection.All;

    /// <summary>Whether <paramref name="worker"/> is one this host runs; an unknown name in the list is a configuration error.</summary>
    public bool Runs(string worker) => WorkerSelection.Parse(Workers).Contains(worker, StringComparer.OrdinalIgnoreCase);
}

/// <summary>Kafka connection (section <c>Kafka</c>).</summary>
public sealed class KafkaOptions
{
    public const string Section = "Kafka";

    /// <summary>The value of <see cref="BootstrapServers"/> that selects the in-process broker.</summary>
    public const string Embedded = "embedded";

    /// <summary><c>host:port[,host:port]</c>; unset or <c>embedded</c> starts the in-process broker.</summary>
    public string? BootstrapServers { get; set; }

    /// <summary>Brokers of the embedded cluster (default 1).</summary>
    [Range(1, 9)] public int EmbeddedBrokers { get; set; } = 1;

    /// <summary>True when the embedded broker is to be used.</summary>
    public bool UseEmbedded => string.IsNullOrWhiteSpace(BootstrapServers)
        || string.Equals(BootstrapServers.Trim(), Embedded, StringComparison.OrdinalIgnoreCase);
}

/// <summary>The configuration cannot work; the host exits with code 2 and this one-line reason.</summary>
public sealed class StreamsConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
