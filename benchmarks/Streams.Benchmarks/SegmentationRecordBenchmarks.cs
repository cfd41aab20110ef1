using BenchmarkDotNet.Attributes;
using Streams.Contracts.Profiles;
using Streams.Contracts.Topics;
using Streams.Profiles.Features;
using Streams.Segmentation;
using Streams.Segmentation.Engine;

namespace Streams.Benchmarks;

/// <summary>
/// The segmentation worker's per-record path without PostgreSQL and Kafka, per profile record: reading a record as the
/// profiles worker writes it (every feature of the catalog) and a mini-batch of 500 through the engine in its steady state
/// (a seeded model, every profile already assigned, no re-seed and no quality fit), from the loaded rows to what would be
/// stored and published. Apart from that path, the model's fits: a mini-batch that also runs the poor-optimum guard's
/// batch fit (which the worker does every <see cref="SegmentationOptions.QualityEvery"/> mini-batches) and a re-seed's fit
/// with k chosen from the data, both on the full sample of 5,000 profiles.
/// </summary>
[MemoryDiagnoser]
public class SegmentationRecordBenchmarks
{
    private const int Profiles = 5_000;
    private const int MiniBatch = 500;
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);
    private readonly List<(byte[] Key, byte[] Value)> records = [];
    private readonly List<ProfileUpdate> updates = [];
    private readonly Dictionary<string, MemberRow> stored = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MemberRow> guardedStored = new(StringComparer.Ordinal);
    private SegmentationEngine engine = null!;
    private SegmentationCheckpoint checkpoint = null!;
    private Dictionary<int, long> sizes = [];
    private SegmentationEngine guarded = null!;
    private SegmentationCheckpoint guardedCheckpoint = null!;
    private Dictionary<int, long> guardedSizes = [];
    private int next;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(5);
        var names = ProfileAggregate.Catalog.Select(d => d.Name).ToArray();
        for (var i = 0; i < Profiles; i++)
        {
            var id = $"p-{i:D24}";
            var group = i % 4;
            var features = names.ToDictionary(n => n, n => Math.Round(Value(n, group, random), 6), StringComparer.Ordinal);
            var value = ProfileJson.Profile(id, [$"k1:{i:x8}", $"k2:{i * 7:x8}"], Now.AddDays(-30), Now, (12, 20, 3, 5),
                w =>
                {
                    foreach (var (name, v) in features.OrderBy(f => f.Key, StringComparer.Ordinal))
                    {
                        w.WriteNumber(name, v);
                    }
                }, personalizationAllowed: true, version: 7, Now);
            records.Add((System.Text.Encoding.UTF8.GetBytes(id), value));
            updates.Add(ProfileRecordReader.Read(records[^1].Key, value, out _)!);
        }

        (engine, checkpoint) = Seeded(new SegmentationOptions { QualityEvery = 1_000_000 }, stored, sizes);
        (guarded, guardedCheckpoint) = Seeded(new SegmentationOptions { QualityEvery = 1 }, guardedStored, guardedSizes);
        ApplyMiniBatch();
        ApplyMiniBatchWithGuard();
    }

    private MiniBatchChanges NextMiniBatch(SegmentationEngine through, SegmentationCheckpoint state, Dictionary<string, MemberRow> rows,
        Dictionary<int, long> counts)
    {
        var start = next;
        next = (next + MiniBatch) % Profiles;
        var batch = updates.GetRange(start, MiniBatch);
        // What the worker loads: the batch's stored rows.
        var loaded = batch.ToDictionary(u => u.ProfileId, u => rows[u.ProfileId], StringComparer.Ordinal);
        return through.Apply(state, loaded, counts, batch, Now);
    }

    // An engine whose model is seeded on every profile, each of them assigned.
    private (SegmentationEngine Engine, SegmentationCheckpoint Checkpoint) Seeded(SegmentationOptions options,
        Dictionary<string, MemberRow> rows, Dictionary<int, long> counts)
    {
        var seeded = new SegmentationEngine(options, new TopicCatalog(new TopicsOptions()));
        var state = SegmentationCheckpoint.Empty();
        // Seeds the model on every profile and assigns them all; the next mini-batch settles the centroids.
        foreach (var row in seeded.Apply(state, rows, counts, updates, Now).Upserts)
        {
            rows[row.ProfileId] = row;
        }

        return (seeded, state);
    }

    [Benchmark(OperationsPerInvoke = MiniBatch, Description = "read a profile record")]
    public int Read()
    {
        var features = 0;
        var start = next;
        next = (next + MiniBatch) % Profiles;
        for (var i = start; i < start + MiniBatch; i++)
        {
            var (key, value) = records[i];
            features += ProfileRecordReader.Read(key, value, out _)!.Features!.Count;
        }

        return features;
    }

    [Benchmark(OperationsPerInvoke = MiniBatch, Description = "mini-batch of 500 through the engine")]
    public MiniBatchChanges ApplyMiniBatch() => NextMiniBatch(engine, checkpoint, stored, sizes);

    [Benchmark(OperationsPerInvoke = MiniBatch, Description = "mini-batch of 500 with the guard's fit")]
    public MiniBatchChanges ApplyMiniBatchWithGuard() => NextMiniBatch(guarded, guardedCheckpoint, guardedStored, guardedSizes);

    [Benchmark(Description = "re-seed's fit, k chosen, sample of 5,000")]
    public int ReseedFit() => engine.Reseed(checkpoint, 2026)!.K;

    private static double Value(string name, int group, Random random) => name switch
    {
        _ when name.EndsWith("_share", StringComparison.Ordinal) || name.EndsWith("_rate", StringComparison.Ordinal)
            || name == "cart_abandonment" => Math.Clamp(0.2 * group + 0.1 * random.NextDouble(), 0, 1),
        _ when name.Contains("sentiment", StringComparison.Ordinal) => group / 2.0 - 0.75 + 0.2 * random.NextDouble(),
        "event_count" => 20 + random.Next(200),
        "channel_count" => 1 + group,
        _ => (group + 1) * 10 * (1 + random.NextDouble()),
    };
}
