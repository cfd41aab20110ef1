using System.Buffers;
using System.Text;
using System.Text.Json;
using Streams.Contracts.Topics;
using Streams.Segmentation.Model;

namespace Streams.Segmentation.Engine;

/// <summary>A profile as the segmentation worker reads it from the <c>profiles</c> topic.</summary>
/// <param name="ProfileId">The profile.</param>
/// <param name="Features">Its features; null for a tombstone (erased or merged away).</param>
/// <param name="PersonalizationAllowed">Consent: false means no centroid update and no assignment.</param>
public sealed record ProfileUpdate(string ProfileId, IReadOnlyDictionary<string, double>? Features, bool PersonalizationAllowed);

/// <summary>A profile's row: its latest raw vector and where it stands.</summary>
public sealed class MemberRow
{
    public required string ProfileId { get; init; }

    public required double[] Raw { get; set; }

    public int? SegmentId { get; set; }

    public long? ModelVersion { get; set; }

    public bool Published { get; set; }

    public string? Assignment { get; set; }
}

/// <summary>A Kafka record to publish after the mini-batch commits.</summary>
public sealed record SegmentMessage(string Topic, byte[] Key, byte[]? Value);

/// <summary>What one mini-batch changes.</summary>
public sealed class MiniBatchChanges
{
    public List<MemberRow> Upserts { get; } = [];

    public List<string> Deletes { get; } = [];

    public List<SegmentMessage> Outbox { get; } = [];

    public bool Reseeded { get; set; }

    public int Assigned { get; set; }
}

/// <summary>
/// One mini-batch of profile updates against the model: consent gate, scaler and reservoir, seeding with ML.NET,
/// Sculley's update, assignment with explanations, the privacy floor and the catalog. Pure: the worker loads the rows
/// it needs before and stores <see cref="MiniBatchChanges"/> and the checkpoint after, in one transaction.
/// </summary>
public sealed class SegmentationEngine(SegmentationOptions options, TopicCatalog catalog)
{
    private readonly double? halfLife = options.HalfLife > 0 ? options.HalfLife : null;

    /// <summary>
    /// Applies <paramref name="updates"/>. <paramref name="rows"/> holds the stored rows of the batch's profiles;
    /// <paramref name="allRows"/> loads every row (needed when the model is seeded or re-seeded, which reassigns
    /// everyone); <paramref name="sizes"/> are the current segment sizes (members, published or not).
    /// </summary>
    public MiniBatchChanges Apply(SegmentationCheckpoint checkpoint, Dictionary<string, MemberRow> rows, Func<List<MemberRow>> allRows,
        Dictionary<int, long> sizes, IReadOnlyList<ProfileUpdate> updates, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(updates);
        var changes = new MiniBatchChanges();
        var scaler = new RunningScaler(checkpoint.Scaler);
        var sample = new ReservoirSample<double[]>(options.SampleSize, options.RandomSeed, checkpoint.Sample);
        var model = checkpoint.Model is null ? null : new MiniBatchKMeans(checkpoint.Model, halfLife);
        var touched = new List<MemberRow>();

        foreach (var update in updates)
        {
            rows.TryGetValue(update.ProfileId, out var row);
            if (update.Features is null || !update.PersonalizationAllowed)
            {
                // Consent is a hard gate: no learning from the profile, and its assignment goes.
                if (row is not null)
                {
                    Leave(row, sizes, changes);
                    changes.Deletes.Add(row.ProfileId);
                    rows.Remove(row.ProfileId);
                    // Seen earlier in this mini-batch (a profile merged away or opted out right after a change): it
                    // must not be assigned and stored again below.
                    touched.Remove(row);
                }

                continue;
            }

            var raw = FeatureSpace.ToRaw(update.Features);
            scaler.Observe(raw);
            sample.Offer(raw);
            row ??= rows[update.ProfileId] = new MemberRow { ProfileId = update.ProfileId, Raw = raw };
            row.Raw = raw;
            // Several versions of one profile in a mini-batch: the row is assigned (and counted in its segment) once.
            if (!touched.Contains(row))
            {
                touched.Add(row);
            }
        }

        checkpoint.MiniBatches++;
        if (model is null && sample.Seen >= options.SeedSize && sample.Items.Count >= options.K)
        {
            model = Seed(null, scaler, sample, checkpoint);
            changes.Reseeded = model is not null;
        }
        else if (model is not null && (model.K != options.K || checkpoint.MiniBatches % options.QualityEvery == 0))
        {
            var quality = QualityMeter.Measure(Standardized(sample.Items, scaler), model);
            if (ReseedPolicy.ShouldReseed(quality.DaviesBouldinIndex, checkpoint.BaselineDbi, options.ReseedThreshold, model.K != options.K)
                && Seed(model, scaler, sample, checkpoint) is { } reseeded)
            {
                model = reseeded;
                changes.Reseeded = true;
            }
        }

        if (model is not null)
        {
            if (changes.Reseeded)
            {
                // A new model version: everyone is assigned again, the batch's profiles with the rest.
                sizes.Clear();
                var everyone = allRows().ToDictionary(r => r.ProfileId);
                foreach (var row in touched)
                {
                    everyone[row.ProfileId] = row;
                }

                foreach (var id in changes.Deletes)
                {
                    everyone.Remove(id);
                }

                touched = [.. everyone.Values.OrderBy(r => r.ProfileId, StringComparer.Ordinal)];
            }
            else
            {
                var batch = Standardized(touched.Select(r => r.Raw).ToList(), scaler);
                if (batch.Count > 0)
                {
                    model.Update(batch);
                }
            }

            Assign(model, scaler, touched, sizes, changes, now);
        }

        changes.Upserts.AddRange(touched);
        checkpoint.Scaler = scaler.ToState();
        checkpoint.Sample = sample.ToState();
        checkpoint.Model = model?.ToState();
        if (model is not null)
        {
            Catalog(model, scaler, sizes, checkpoint, changes);
        }

        return changes;
    }

    /// <summary>
    /// Publishes members of segments that reached the privacy floor after they were assigned (their rows were not in
    /// the batch). Returns the rows changed.
    /// </summary>
    public IReadOnlyList<MemberRow> Release(IReadOnlyList<MemberRow> waiting, MiniBatchChanges changes)
    {
        ArgumentNullException.ThrowIfNull(waiting);
        ArgumentNullException.ThrowIfNull(changes);
        foreach (var row in waiting.Where(r => r.Assignment is not null))
        {
            row.Published = true;
            changes.Outbox.Add(new SegmentMessage(catalog.Names.Segments, Key(row.ProfileId), Encoding.UTF8.GetBytes(row.Assignment!)));
        }

        changes.Upserts.AddRange(waiting);
        return waiting;
    }

    /// <summary>A profile's raw vector in the space the model's centroids live in, with the checkpoint's representation.</summary>
    public double[] ModelVector(SegmentationCheckpoint checkpoint, double[] raw)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(raw);
        var x = new double[FeatureSpace.Dimension];
        new RunningScaler(checkpoint.Scaler).Standardize(raw, x);
        return x;
    }

    /// <summary>
    /// The model a re-seed would make now from the checkpoint's sample with another random seed, ids matched to the
    /// current model; the checkpoint is not changed. Null before the first seed or without k distinct points.
    /// </summary>
    public MiniBatchKMeans? Reseed(SegmentationCheckpoint checkpoint, int randomSeed)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (checkpoint.Model is null)
        {
            return null;
        }

        var scaler = new RunningScaler(checkpoint.Scaler);
        var points = Standardized(checkpoint.Sample.Items, scaler);
        if (!KMeansSeeder.HasDistinctPoints(points, options.K))
        {
            return null;
        }

        return MiniBatchKMeans.FromSeed(KMeansSeeder.Seed(points, options.K, randomSeed), new MiniBatchKMeans(checkpoint.Model, halfLife), halfLife);
    }

    /// <summary>A model seeded from the sample, or null while the sample has fewer than k distinct points (then it waits).</summary>
    private MiniBatchKMeans? Seed(MiniBatchKMeans? previous, RunningScaler scaler, ReservoirSample<double[]> sample, SegmentationCheckpoint checkpoint)
    {
        var points = Standardized(sample.Items, scaler);
        if (!KMeansSeeder.HasDistinctPoints(points, options.K))
        {
            return null;
        }

        var seed = KMeansSeeder.Seed(points, options.K, options.RandomSeed);
        // The previous model (if any) hands on its ids and version; FromSeed matches centroids even when k changed.
        var model = MiniBatchKMeans.FromSeed(seed, previous, halfLife);
        checkpoint.BaselineDbi = QualityMeter.Measure(points, model).DaviesBouldinIndex;
        checkpoint.Catalogued = [];
        return model;
    }

    private void Assign(MiniBatchKMeans model, RunningScaler scaler, List<MemberRow> rows, Dictionary<int, long> sizes,
        MiniBatchChanges changes, DateTimeOffset now)
    {
        var x = new double[FeatureSpace.Dimension];
        var assignments = new List<(MemberRow Row, int Index, double Distance, int RunnerUp)>(rows.Count);
        foreach (var row in rows)
        {
            scaler.Standardize(row.Raw, x);
            var index = model.Assign(x, out var distance, out var runnerUp, out _);
            var segment = model.SegmentIds[index];
            if (row.SegmentId != segment || row.ModelVersion != model.Version)
            {
                if (row.SegmentId is { } old && row.ModelVersion == model.Version && sizes.ContainsKey(old))
                {
                    sizes[old]--;
                }

                sizes[segment] = sizes.GetValueOrDefault(segment) + 1;
            }

            assignments.Add((row, index, distance, runnerUp));
        }

        foreach (var (row, index, distance, runnerUp) in assignments)
        {
            var segment = model.SegmentIds[index];
            var changed = row.SegmentId != segment || row.ModelVersion != model.Version;
            scaler.Standardize(row.Raw, x);
            var explanation = Explainer.Explain(x, model.Centroid(index), model.Centroid(runnerUp < 0 ? index : runnerUp), row.Raw);
            row.Assignment = Encoding.UTF8.GetString(AssignmentRecord(row.ProfileId, segment, model.Version, distance, now, explanation));
            row.SegmentId = segment;
            row.ModelVersion = model.Version;
            changes.Assigned++;
            // The privacy floor: a segment of fewer than MinSegmentSize members is not published, nor its members.
            var visible = sizes.GetValueOrDefault(segment) >= options.MinSegmentSize;
            if (visible && (changed || !row.Published))
            {
                row.Published = true;
                changes.Outbox.Add(new SegmentMessage(catalog.Names.Segments, Key(row.ProfileId), Encoding.UTF8.GetBytes(row.Assignment)));
            }
            else if (!visible && row.Published)
            {
                row.Published = false;
                changes.Outbox.Add(new SegmentMessage(catalog.Names.Segments, Key(row.ProfileId), null));
            }
        }
    }

    private void Leave(MemberRow row, Dictionary<int, long> sizes, MiniBatchChanges changes)
    {
        if (row.SegmentId is { } segment && sizes.ContainsKey(segment))
        {
            sizes[segment]--;
        }

        if (row.Published)
        {
            changes.Outbox.Add(new SegmentMessage(catalog.Names.Segments, Key(row.ProfileId), null));
        }
    }

    // One catalog record per segment per model version, once the segment is large enough to be described.
    private void Catalog(MiniBatchKMeans model, RunningScaler scaler, Dictionary<int, long> sizes, SegmentationCheckpoint checkpoint,
        MiniBatchChanges changes)
    {
        for (var c = 0; c < model.K; c++)
        {
            var segment = model.SegmentIds[c];
            var size = sizes.GetValueOrDefault(segment);
            if (size < options.MinSegmentSize || checkpoint.Catalogued.Contains(segment))
            {
                continue;
            }

            checkpoint.Catalogued.Add(segment);
            changes.Outbox.Add(new SegmentMessage(catalog.Names.SegmentCatalog, Encoding.UTF8.GetBytes(segment.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                CatalogRecord(segment, model.Version, size, model.Centroid(c), scaler)));
        }
    }

    private static List<double[]> Standardized(IEnumerable<double[]> raws, RunningScaler scaler) =>
        [.. raws.Select(raw =>
        {
            var x = new double[FeatureSpace.Dimension];
            scaler.Standardize(raw, x);
            return x;
        })];

    internal static byte[] AssignmentRecord(string profileId, int segment, long version, double distance, DateTimeOffset at,
        IReadOnlyList<FeatureContribution> explanation) => Write(w =>
    {
        w.WriteString("profile_id", profileId);
        w.WriteNumber("segment_id", segment);
        w.WriteNumber("model_version", version);
        w.WriteNumber("distance", Math.Round(distance, 6));
        w.WriteString("assigned_at", at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteStartArray("explanation");
        foreach (var item in explanation)
        {
            w.WriteStartObject();
            w.WriteString("feature", item.Feature);
            w.WriteNumber("profile_z", Math.Round(item.ProfileZ, 4));
            w.WriteNumber("segment_z", Math.Round(item.SegmentZ, 4));
            w.WriteNumber("contribution", Math.Round(item.Contribution, 4));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("summary", Explainer.Summary(explanation));
    });

    private static byte[] CatalogRecord(int segment, long version, long size, ReadOnlySpan<double> centroid, RunningScaler scaler)
    {
        var original = FeatureSpace.ToOriginalUnits(centroid, scaler);
        var top = SegmentDescriber.TopFeatures(centroid);
        var description = SegmentDescriber.Describe(centroid);
        return Write(w =>
        {
            w.WriteNumber("segment_id", segment);
            w.WriteNumber("model_version", version);
            w.WriteNumber("size", size);
            w.WriteStartObject("centroid");
            foreach (var (name, value) in original.OrderBy(o => o.Key, StringComparer.Ordinal))
            {
                w.WriteNumber(name, Math.Round(value, 4));
            }

            w.WriteEndObject();
            w.WriteStartArray("top_features");
            foreach (var feature in top)
            {
                w.WriteStartObject();
                w.WriteString("feature", feature.Feature);
                w.WriteNumber("segment_z", Math.Round(feature.SegmentZ, 4));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteString("description", description);
        });
    }

    public static byte[] Key(string id) => Encoding.UTF8.GetBytes(id);

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
