using System.ComponentModel.DataAnnotations;

namespace Streams.Infrastructure.Hosting;

/// <summary>Process-wide settings (section <c>Streams</c>).</summary>
public sealed class StreamsOptions
{
    public const string Section = "Streams";

    /// <summary>Where the host keeps local state: embedded addresses, the development key, state stores (default <c>.streams</c>).</summary>
    [Required] public string StateDir { get; set; } = ".streams";

    /// <summary>
    /// Which workers this host runs, comma-separated: <c>ingest</c>, <c>profiles</c>, <c>segmentation</c>, or
    /// <c>all</c> (default). Operators scale the workers separately by running hosts with different lists.
    /// </summary>
    [Required] public string Workers { get; set; } = "all";

    /// <summary>Whether <paramref name="worker"/> is one this host runs.</summary>
    public bool Runs(string worker) => Workers.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
        .Any(w => w.Equals("all", StringComparison.OrdinalIgnoreCase) || w.Equals(worker, StringComparison.OrdinalIgnoreCase));
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
