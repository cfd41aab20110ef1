using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Stream;
using Streamiz.Kafka.Net.Table;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Diagnostics;

namespace Streams.Quality.Figures;

/// <summary>
/// The data-quality topology: ingest's outputs (the canonical topic and every quarantine topic) → one observation per
/// record keyed by its input topic → a repartition so every observation of a topic meets in one task → windowed sums in
/// the <see cref="StoreName"/> store → the <c>data-quality</c> topic, one record per topic and window, updated as the
/// window fills (compacted: the last one per key is the window's count).
/// </summary>
public static class QualityTopology
{
    /// <summary>The queryable window store (and, with the application id, the name of its changelog topic).</summary>
    public const string StoreName = "quality-minutes";

    /// <summary>The name of the repartition step (and of its topic).</summary>
    public const string RepartitionName = "quality-by-topic";

    /// <summary>The crash point reached once per record read (<see cref="CrashPoints"/>).</summary>
    public const string ObservedCrashPoint = "quality.observed";

    /// <summary>The topics the topology reads: the canonical topic and every quarantine topic of the catalog.</summary>
    public static IReadOnlyList<string> SourceTopics(TopicCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return [catalog.Names.Canonical, .. catalog.All.Where(t => t.Role == TopicRole.Quarantine).Select(t => t.Name)];
    }

    /// <summary>
    /// The internal topics Streamiz uses for this topology under <paramref name="applicationId"/>. A real Kafka gets them
    /// from Streamiz's admin client; the embedded broker has no admin API, so they are created there up front. Measured
    /// on the embedded broker (2026-12-04): with both created beforehand the topology runs (consumer group, repartition,
    /// changelog, restore after a kill); with them missing, the host's start waited on Streamiz for over 5 minutes.
    /// </summary>
    public static IReadOnlyList<string> InternalTopics(string applicationId) =>
        [$"{applicationId}-{RepartitionName}-repartition", $"{applicationId}-{StoreName}-changelog"];

    public static void Configure(StreamBuilder builder, TopicCatalog catalog, QualityOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var observation = new QualityObservation(catalog);
        var sources = SourceTopics(catalog).Select(topic => builder.Stream<byte[], byte[]>(topic, new ByteArraySerDes(), new ByteArraySerDes()));
        var all = sources.Aggregate((merged, next) => merged.Merge(next));

        all.FlatMap<string, QualityFigures>((_, value, context) =>
            {
                // The crash test kills the worker here, mid-stream, between commits.
                CrashPoints.Reach(ObservedCrashPoint);
                return value is not null && observation.Read(context.Topic, context.Headers, value) is { } seen
                    ? [KeyValuePair.Create(seen.Topic, seen.Figures)]
                    : [];
            })
            .GroupByKey<StringSerDes, QualityFiguresSerDes>(RepartitionName)
            .WindowedBy(TumblingWindowOptions.Of(options.Window, options.Grace))
            // In memory, restored from the changelog on start: a day of minute windows for a handful of topics is small.
            // RocksDB works here too (RocksDB 11.12 native libraries load; a window store counted correctly under the
            // TopologyTestDriver, measured 2026-12-04), but would add a local state folder and a native library for nothing.
            .Reduce(QualityFigures.Add,
                InMemoryWindows.As<string, QualityFigures>(StoreName, options.Window)
                    .WithKeySerdes<StringSerDes>()
                    .WithValueSerdes<QualityFiguresSerDes>()
                    .WithRetention(options.Retention))
            .ToStream()
            .Map<string, QualityMinute>((window, figures, _) =>
            {
                var minute = QualityMinute.Of(window.Key, DateTimeOffset.FromUnixTimeMilliseconds(window.Window.StartMs), options.Window, figures);
                return KeyValuePair.Create(minute.Key, minute);
            })
            .To<StringSerDes, QualityMinuteSerDes>(catalog.Names.DataQuality);
    }
}
