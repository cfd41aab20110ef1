namespace Streams.Contracts.Topics;

/// <summary>What a topic is for.</summary>
public enum TopicRole
{
    Input,
    Quarantine,
    Output,
    Internal,
}

/// <summary>One topic the service owns or reads: name, size and retention policy.</summary>
/// <param name="Name">Topic name.</param>
/// <param name="Role">Input, quarantine, output or internal.</param>
/// <param name="Partitions">Partition count.</param>
/// <param name="ReplicationFactor">Replicas per partition.</param>
/// <param name="Compacted">True for <c>cleanup.policy=compact</c> (latest value per key), false for delete.</param>
public sealed record TopicSpec(string Name, TopicRole Role, int Partitions, short ReplicationFactor, bool Compacted)
{
    /// <summary>The Kafka <c>cleanup.policy</c> value.</summary>
    public string CleanupPolicy => Compacted ? "compact" : "delete";

    /// <summary>How long tombstones stay (<c>delete.retention.ms</c>); set on compacted topics, null elsewhere (broker default).</summary>
    public TimeSpan? TombstoneRetention { get; init; }

    /// <summary>How long records stay (<c>retention.ms</c>); null for the broker's default.</summary>
    public TimeSpan? Retention { get; init; }

    /// <summary>The topic configuration the provisioner creates the topic with, and checks an existing topic against.</summary>
    public IReadOnlyDictionary<string, string> Configs
    {
        get
        {
            var configs = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["cleanup.policy"] = CleanupPolicy };
            if (TombstoneRetention is { } tombstones)
            {
                configs["delete.retention.ms"] = Milliseconds(tombstones);
            }

            if (Retention is { } retention)
            {
                configs["retention.ms"] = Milliseconds(retention);
            }

            return configs;
        }
    }

    private static string Milliseconds(TimeSpan span) => ((long)span.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// Every topic of CONTRACT.md §1, in one place, so the provisioner, the workers and the tests agree on names and policy.
/// </summary>
public sealed class TopicCatalog
{
    public TopicCatalog(TopicsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Names = options;
        Inputs = [options.Clickstream, options.Store, options.Callcenter, options.Social, options.Consent];

        var specs = new List<TopicSpec>();
        foreach (var input in Inputs)
        {
            specs.Add(Spec(input, TopicRole.Input, compacted: false));
        }

        foreach (var input in Inputs)
        {
            specs.Add(Spec(TopicsOptions.QuarantineOf(input), TopicRole.Quarantine, compacted: false) with { Retention = options.EventRetention });
        }

        specs.Add(Spec(options.Profiles, TopicRole.Output, compacted: true));
        specs.Add(Spec(options.ProfileMerges, TopicRole.Output, compacted: false));
        specs.Add(Spec(options.Segments, TopicRole.Output, compacted: true));
        specs.Add(Spec(options.SegmentCatalog, TopicRole.Output, compacted: true));
        specs.Add(Spec(options.DataQuality, TopicRole.Output, compacted: true));
        specs.Add(Spec(options.DataQualityAlerts, TopicRole.Output, compacted: true));
        // Not one of Inputs: ingest never reads it; only the activation worker does, and nothing else may copy it.
        specs.Add(Spec(options.ActivationRequests, TopicRole.Input, compacted: false));
        specs.Add(Spec(TopicsOptions.QuarantineOf(options.ActivationRequests), TopicRole.Quarantine, compacted: false) with { Retention = options.EventRetention });
        // Keyed by record id, which two lists may share: every answer is kept for its retention, none replaces another.
        specs.Add(Spec(options.ActivationResponses, TopicRole.Output, compacted: false));
        // Pseudonymous copies of every event: after an erasure they are the last trace of the customer, so they age out.
        specs.Add(Spec(options.Canonical, TopicRole.Internal, compacted: false) with { Retention = options.EventRetention });
        // Canonical records the profiles worker cannot read (never written by ingest, but a worker must not stop on them).
        specs.Add(Spec(TopicsOptions.QuarantineOf(options.Canonical), TopicRole.Quarantine, compacted: false) with { Retention = options.EventRetention });
        // Profile records the segmentation worker cannot read (never written by the profiles worker, likewise).
        specs.Add(Spec(TopicsOptions.QuarantineOf(options.Profiles), TopicRole.Quarantine, compacted: false) with { Retention = options.EventRetention });
        All = specs;

        // A compacted topic drops a tombstone delete.retention.ms after compaction reached it: a consumer that was offline
        // longer would keep a profile erased meanwhile, so the catalog sets it rather than trust the broker's 1-day default.
        TopicSpec Spec(string name, TopicRole role, bool compacted) =>
            new(name, role, options.Partitions, options.ReplicationFactor, compacted)
            {
                TombstoneRetention = compacted ? options.TombstoneRetention : null,
            };
    }

    /// <summary>The configured names.</summary>
    public TopicsOptions Names { get; }

    /// <summary>The input topics ingest reads: clickstream, store, callcenter, social, consent.</summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>Every topic, inputs first.</summary>
    public IReadOnlyList<TopicSpec> All { get; }

    /// <summary>The spec of a topic by name.</summary>
    public TopicSpec this[string name] => All.FirstOrDefault(t => t.Name == name)
        ?? throw new KeyNotFoundException($"'{name}' is not in the topic catalog.");
}
