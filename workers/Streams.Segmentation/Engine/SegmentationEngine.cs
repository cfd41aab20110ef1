using System.Text;
using Streams.Contracts.Profiles;
using Streams.Contracts.Segments;
using Streams.Contracts.Topics;
using Streams.Segmentation.Model;

namespace Streams.Segmentation.Engine;

/// <summary>A profile's row: its latest raw vector and where it stands.</summary>
public sealed class MemberRow
{
    public required string ProfileId { get; init; }

    public required double[] Raw { get; set; }

    public int? SegmentId { get; set; }

    public long? ModelVersion { get; set; }

    public bool Published { get; set; }

    /// <summary>
    /// The assignment record as text; null when it is not loaded or not new, which saving the row leaves as stored
    /// (with its <c>assigned_at</c>).
    /// </summary>
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
/// One mini-batch of profile updates against the model: consent gate and maturity rule, the profile sample, seeding with
/// ML.NET (k chosen from the data), learning once per profile, assignment with explanations, the poor-optimum guard, the
/// privacy floor and the catalog. Pure: the worker loads the rows it needs before and stores <see cref="MiniBatchChanges"/>
/// and the checkpoint after, in one transaction.
/// <para>
/// Learning from customers, not updates: every centroid is the mean of the current vectors of its members, each member
/// counted once. When a profile changes, its previous vector leaves its centroid and its new one joins the nearest
/// (<see cref="MiniBatchKMeans.Remove"/>, <see cref="MiniBatchKMeans.Add"/>), so a profile updated 30 times weighs as much
/// as one updated once, and a centroid follows its members as they change without any decay.
/// </para>
/// </summary>
public sealed class SegmentationEngine(SegmentationOptions options, TopicCatalog catalog)
{
    /// <summary>
    /// The sample the last mini-batch left, with its index by profile, for the next one while the checkpoint it was given
    /// holds the state that mini-batch left (a checkpoint read again, after a commit that failed, is another object):
    /// rebuilding the index of 5,000 profiles every mini-batch was about a fifth of the worker's loop.
    /// </summary>
    private ProfileSample? lastSample;

    /// <summary>
    /// Applies <paramref name="updates"/>. <paramref name="rows"/> holds the stored rows of the batch's profiles;
    /// <paramref name="sizes"/> are the current segment sizes (members, published or not), updated in place to what the
    /// mini-batch leaves, so a caller may carry them to the next one instead of counting again. When the model is seeded or
    /// re-seeded (<see cref="MiniBatchChanges.Reseeded"/>) only the batch's profiles are assigned here: the caller then
    /// hands every other profile to <see cref="Reassign"/>, a bounded chunk at a time, before the next mini-batch.
    /// </summary>
    public MiniBatchChanges Apply(SegmentationCheckpoint checkpoint, Dictionary<string, MemberRow> rows,
        Dictionary<int, long> sizes, IReadOnlyList<ProfileUpdate> updates, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(updates);
        var changes = new MiniBatchChanges();
        // Taken, not shared: should Apply fail half-way, the sample it changed is not offered again.
        var sample = Interlocked.Exchange(ref lastSample, null) is { } kept && kept.Holds(checkpoint.Profiles)
            ? kept
            : new ProfileSample(options.SampleSize, options.RandomSeed, checkpoint.Profiles);
        var model = CurrentModel(checkpoint, out var retired);
        if (model is not null && checkpoint.Settling is not null)
        {
            // A caller that did not re-assign everyone: the centroids become the means of the members assigned so far.
            Settle(model, checkpoint);
        }

        var space = new ModelSpace(checkpoint.Scaler);
        var touched = new List<MemberRow>();
        // Membership of touched, so a profile seen again in the mini-batch costs a lookup, not a scan of the list.
        var touchedSet = new HashSet<MemberRow>(ReferenceEqualityComparer.Instance);
        // A touched row's vector as it was before this mini-batch: what it contributes to the model now.
        var before = new Dictionary<string, double[]>(StringComparer.Ordinal);

        foreach (var update in updates)
        {
            rows.TryGetValue(update.ProfileId, out var row);
            if (update.Features is null || !update.PersonalizationAllowed)
            {
                // Consent is a hard gate: no learning from the profile, and its assignment goes.
                sample.Remove(update.ProfileId);
                if (row is not null)
                {
                    if (model is not null)
                    {
                        Withdraw(model, space, row, before.GetValueOrDefault(row.ProfileId) ?? row.Raw);
                    }

                    Leave(row, model?.Version, sizes, changes);
                    changes.Deletes.Add(row.ProfileId);
                    rows.Remove(row.ProfileId);
                    // Seen earlier in this mini-batch (a profile merged away or opted out right after a change): it
                    // must not be assigned and stored again below.
                    if (touchedSet.Remove(row))
                    {
                        touched.Remove(row);
                    }
                }

                continue;
            }

            // The maturity rule: too little behaviour neither trains nor gets an assignment. Event counts only grow, so
            // a profile with a row has passed it before.
            if (row is null && !Mature(update.Features))
            {
                continue;
            }

            var raw = FeatureSpace.ToRaw(update.Features);
            // A profile enters the sample when it first becomes eligible; before the first seed (also after a retired model
            // of an older release, whose members all have rows) any profile not yet in the sample may enter.
            if (sample.Offer(update.ProfileId, raw, isNew: row is null || model is null))
            {
                checkpoint.SampleUpdates++;
            }

            if (row is null)
            {
                row = rows[update.ProfileId] = new MemberRow { ProfileId = update.ProfileId, Raw = raw };
            }
            else
            {
                before.TryAdd(row.ProfileId, row.Raw);
            }

            row.Raw = raw;
            // Several versions of one profile in a mini-batch: the row is assigned (and counted in its segment) once.
            if (touchedSet.Add(row))
            {
                touched.Add(row);
            }
        }

        checkpoint.MiniBatches++;
        // A young model, seeded while the sample was not yet full, is seeded again each time the profiles seen have
        // doubled: k and the scaling chosen on 500 profiles are re-chosen on 1,000, 2,000, … until the sample is full.
        // It is also seeded again each time the updates of the sample's profiles have doubled: profiles enter the sample
        // at the maturity rule's threshold, so a seed on a sample that stops growing (fewer customers than the sample
        // holds) was chosen on young behaviour, and k is re-chosen once that behaviour has had as much again to show.
        var young = checkpoint.SeededAt > 0 && checkpoint.SeededAt < options.SampleSize;
        var grown = young && sample.Seen >= 2 * checkpoint.SeededAt;
        var matured = young && checkpoint.SampleUpdatesAtSeed > 0 && checkpoint.SampleUpdates >= 2 * checkpoint.SampleUpdatesAtSeed;
        var reseed = model is null
            ? sample.Items.Count >= Math.Min(options.SeedSize, options.SampleSize)
            : (options.K > 0 && model.K != options.K) || grown || matured
                || (checkpoint.MiniBatches % options.QualityEvery == 0 && BatchFitIsBetter(model, space, sample));
        if (reseed && Seed(model, space, retired, sample) is { } seeded)
        {
            model = seeded.Model;
            space = seeded.Space;
            checkpoint.Scaler = seeded.Space.Scaler.ToState();
            checkpoint.SeededAt = sample.Seen;
            checkpoint.SampleUpdatesAtSeed = checkpoint.SampleUpdates;
            changes.Reseeded = true;
        }

        if (model is not null)
        {
            if (changes.Reseeded)
            {
                // A new model version: the batch's profiles are assigned now, everyone else by Reassign. The centroids
                // stay the sample's fit until the last of them is assigned (Settle).
                sizes.Clear();
                touched.Sort((a, b) => string.CompareOrdinal(a.ProfileId, b.ProfileId));
            }
            else
            {
                foreach (var row in touched)
                {
                    Withdraw(model, space, row, before.GetValueOrDefault(row.ProfileId) ?? row.Raw);
                    var x = space.Vector(row.Raw);
                    model.Add(model.Assign(x, out _), x);
                }
            }

            Assign(model, space, touched, sizes, changes, now);
            if (changes.Reseeded)
            {
                checkpoint.Settling = SettlingState.Empty(model.K, model.Dimension);
                Accumulate(model, space, touched, checkpoint.Settling);
            }
        }

        changes.Upserts.AddRange(touched);
        checkpoint.Profiles = sample.ToState();
        checkpoint.Model = model?.ToState();
        if (model is not null)
        {
            Catalog(model, space, sizes, checkpoint, changes);
        }

        Volatile.Write(ref lastSample, sample);
        return changes;
    }

    /// <summary>
    /// Assigns <paramref name="rows"/>, which the current model has not assigned yet (a re-seed leaves everyone outside its
    /// mini-batch to this), without learning from them: the worker calls it a bounded chunk at a time, each in its own
    /// transaction, so a re-seed never holds every assignment in memory at once. <paramref name="sizes"/> are the current
    /// model's segment sizes and grow with the chunk; the catalog describes segments that pass the floor meanwhile.
    /// </summary>
    /// <remarks>
    /// The chunk is assigned against the centroids of the re-seed's fit and only counted (<see cref="SegmentationCheckpoint.Settling"/>);
    /// an empty chunk means everyone is assigned, and each centroid becomes the exact mean of its members' current vectors.
    /// A row of an older release's feature space cannot be placed: it is removed (its published record tombstoned) and
    /// comes back with its profile's next update.
    /// </remarks>
    public MiniBatchChanges Reassign(SegmentationCheckpoint checkpoint, List<MemberRow> rows, Dictionary<int, long> sizes, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(sizes);
        var changes = new MiniBatchChanges();
        if (checkpoint.Model is not { } state || state.Dimension != FeatureSpace.Dimension)
        {
            return changes;
        }

        var model = new MiniBatchKMeans(state);
        var space = new ModelSpace(checkpoint.Scaler);
        if (rows.Count == 0)
        {
            if (checkpoint.Settling is not null)
            {
                Settle(model, checkpoint);
                checkpoint.Model = model.ToState();
            }

            return changes;
        }

        var placeable = new List<MemberRow>(rows.Count);
        foreach (var row in rows)
        {
            if (row.Raw.Length == FeatureSpace.Dimension)
            {
                placeable.Add(row);
                continue;
            }

            Leave(row, model.Version, sizes, changes);
            changes.Deletes.Add(row.ProfileId);
        }

        Assign(model, space, placeable, sizes, changes, now);
        checkpoint.Settling ??= SettlingState.Empty(model.K, model.Dimension);
        Accumulate(model, space, placeable, checkpoint.Settling);
        changes.Upserts.AddRange(placeable);
        Catalog(model, space, sizes, checkpoint, changes);
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
    public static double[] ModelVector(SegmentationCheckpoint checkpoint, double[] raw)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(raw);
        return new ModelSpace(checkpoint.Scaler).Vector(raw);
    }

    /// <summary>
    /// The model a re-seed would make now from the checkpoint's sample with another random seed, ids matched to the
    /// current model, in the current model's space; the checkpoint is not changed. Null before the first seed.
    /// </summary>
    public MiniBatchKMeans? Reseed(SegmentationCheckpoint checkpoint, int randomSeed)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (checkpoint.Model is null)
        {
            return null;
        }

        var space = new ModelSpace(checkpoint.Scaler);
        var sample = new ProfileSample(options.SampleSize, options.RandomSeed, checkpoint.Profiles);
        var points = sample.Vectors.Select(space.Vector).ToList();
        var previous = new MiniBatchKMeans(checkpoint.Model);
        return FitK(points, randomSeed) is { } fit ? MiniBatchKMeans.FromSeed(fit, previous) : null;
    }

    // Members just assigned count in their centroid's sums for Settle.
    private static void Accumulate(MiniBatchKMeans model, ModelSpace space, List<MemberRow> rows, SettlingState settling)
    {
        foreach (var row in rows)
        {
            settling.Add(model.IndexOf(row.SegmentId!.Value), space.Vector(row.Raw));
        }
    }

    // Every member is assigned: each centroid becomes the exact mean of its members' current vectors, so from here on
    // Withdraw and Add keep it that.
    private static void Settle(MiniBatchKMeans model, SegmentationCheckpoint checkpoint)
    {
        model.SetMeans(checkpoint.Settling!.Sums, checkpoint.Settling.Counts);
        checkpoint.Settling = null;
    }

    private bool Mature(IReadOnlyDictionary<string, double> features) =>
        options.MinEvents == 0 || (features.TryGetValue("event_count", out var events) && events >= options.MinEvents);

    // The row's previous vector leaves the centroid it counts in (if it counts in this model version).
    private static void Withdraw(MiniBatchKMeans model, ModelSpace space, MemberRow row, double[] previousRaw)
    {
        if (row.SegmentId is { } segment && row.ModelVersion == model.Version && model.IndexOf(segment) is var index and >= 0)
        {
            model.Remove(index, space.Vector(previousRaw));
        }
    }

    /// <summary>
    /// The model in the checkpoint, or null before the first seed. A model of another feature space (an older release)
    /// cannot continue: it is retired, and the next seed takes its version and segment ids on.
    /// </summary>
    private static MiniBatchKMeans? CurrentModel(SegmentationCheckpoint checkpoint, out MiniBatchKMeans? retired)
    {
        retired = null;
        if (checkpoint.Model is not { } state)
        {
            return null;
        }

        if (state.Dimension == FeatureSpace.Dimension && checkpoint.Scaler.Counts.Length == FeatureSpace.Dimension)
        {
            return new MiniBatchKMeans(state);
        }

        retired = new MiniBatchKMeans(state);
        checkpoint.Scaler = new RunningScaler(FeatureSpace.Dimension).ToState();
        checkpoint.Model = null;
        return null;
    }

    // The guard: a fresh batch fit on the sample at the model's k, against the online centroids on the same points.
    private bool BatchFitIsBetter(MiniBatchKMeans model, ModelSpace space, ProfileSample sample)
    {
        var points = sample.Vectors.Select(space.Vector).ToList();
        if (!KMeansSeeder.HasDistinctPoints(points, model.K))
        {
            return false;
        }

        // ML.NET trains on at most FitPoints of the sample; the fit's refinement, its best restart and both inertias use the
        // whole sample, so the online and the batch centroids are compared on the same points.
        var fit = KMeansSeeder.Seed(points, model.K, options.RandomSeed, trainPoints: options.FitPoints);
        return ReseedPolicy.BatchFitIsBetter(model.Inertia(points), KMeansSeeder.Inertia(points, fit.Centroids), options.ReseedMargin);
    }

    /// <summary>
    /// A new model from the sample: the space (scaling) fitted on the sample's current vectors, k chosen (or fixed), the
    /// centroids matched to <paramref name="previous"/>'s, mapped into the new space first, so segments keep their ids; a
    /// <paramref name="retired"/> model of another feature space only hands on its version and next segment id. Null while
    /// the sample has fewer than k distinct points (then it waits).
    /// </summary>
    private (MiniBatchKMeans Model, ModelSpace Space)? Seed(MiniBatchKMeans? previous, ModelSpace previousSpace, MiniBatchKMeans? retired,
        ProfileSample sample)
    {
        var space = ModelSpace.Fit(sample.Vectors);
        var points = sample.Vectors.Select(space.Vector).ToList();
        if (FitK(points, options.RandomSeed) is not { } fit)
        {
            return null;
        }

        if (previous is not null)
        {
            return (MiniBatchKMeans.FromSeed(fit, previousSpace.MapInto(previous, space)), space);
        }

        var model = MiniBatchKMeans.FromSeed(fit);
        if (retired is not null)
        {
            var state = model.ToState();
            model = new MiniBatchKMeans(state with
            {
                SegmentIds = [.. state.SegmentIds.Select(id => id + retired.NextSegmentId)],
                NextSegmentId = retired.NextSegmentId + state.K,
                Version = retired.Version + 1,
            });
        }

        return (model, space);
    }

    private KMeansSeed? FitK(List<double[]> points, int randomSeed)
    {
        if (options.K > 0)
        {
            return KMeansSeeder.HasDistinctPoints(points, options.K) ? KMeansSeeder.Seed(points, options.K, randomSeed) : null;
        }

        return KMeansSeeder.HasDistinctPoints(points, options.MinK)
            ? KSelector.Choose(points, options.MinK, options.MaxK, randomSeed, trainPoints: options.FitPoints).Seed
            : null;
    }

    private void Assign(MiniBatchKMeans model, ModelSpace space, List<MemberRow> rows, Dictionary<int, long> sizes,
        MiniBatchChanges changes, DateTimeOffset now)
    {
        var assignments = new List<(MemberRow Row, double[] X, int Index, double Distance, int RunnerUp)>(rows.Count);
        foreach (var row in rows)
        {
            var x = space.Vector(row.Raw);
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

            assignments.Add((row, x, index, distance, runnerUp));
        }

        foreach (var (row, x, index, distance, runnerUp) in assignments)
        {
            var segment = model.SegmentIds[index];
            var changed = row.SegmentId != segment || row.ModelVersion != model.Version;
            // The privacy floor: a segment of fewer than MinSegmentSize members is not published, nor its members.
            var visible = sizes.GetValueOrDefault(segment) >= options.MinSegmentSize;
            changes.Assigned++;
            if (visible && !changed && row.Published)
            {
                // Same segment, same model, already published: campaign systems keep the record they have, and so does
                // the row (its assignment is left as stored, null here, which the save keeps with its assigned_at).
                // Only the vector is new.
                continue;
            }

            var explanation = Explainer.Explain(x, model.Centroid(index), model.Centroid(runnerUp < 0 ? index : runnerUp), row.Raw);
            // The row stores the record as text; the outbox publishes these same bytes rather than encoding the text again.
            var record = AssignmentRecord(row.ProfileId, segment, model.Version, distance, now, explanation);
            row.Assignment = Encoding.UTF8.GetString(record);
            row.SegmentId = segment;
            row.ModelVersion = model.Version;
            if (visible)
            {
                row.Published = true;
                changes.Outbox.Add(new SegmentMessage(catalog.Names.Segments, Key(row.ProfileId), record));
            }
            else if (!visible && row.Published)
            {
                row.Published = false;
                changes.Outbox.Add(new SegmentMessage(catalog.Names.Segments, Key(row.ProfileId), null));
            }
        }
    }

    // A row counts in sizes (members of the current model version) only if that version assigned it: a row of an older
    // version whose segment id lives on in the current model is not one of its members.
    private void Leave(MemberRow row, long? version, Dictionary<int, long> sizes, MiniBatchChanges changes)
    {
        if (row.SegmentId is { } segment && row.ModelVersion == version && version is not null && sizes.ContainsKey(segment))
        {
            sizes[segment]--;
        }

        if (row.Published)
        {
            changes.Outbox.Add(new SegmentMessage(catalog.Names.Segments, Key(row.ProfileId), null));
        }
    }

    /// <summary>
    /// The catalog in step with live membership: a segment at or above the privacy floor is described once per model
    /// version and again whenever its size has moved by more than <see cref="SegmentationOptions.CatalogTolerance"/> of the
    /// size last published; a segment that fell below the floor, or that a re-seed did away with, is tombstoned.
    /// </summary>
    private void Catalog(MiniBatchKMeans model, ModelSpace space, Dictionary<int, long> sizes, SegmentationCheckpoint checkpoint,
        MiniBatchChanges changes)
    {
        if (changes.Reseeded)
        {
            foreach (var gone in checkpoint.CatalogSizes.Keys.Where(id => model.IndexOf(id) < 0).Order())
            {
                changes.Outbox.Add(new SegmentMessage(catalog.Names.SegmentCatalog, CatalogKey(gone), null));
            }

            checkpoint.CatalogSizes = [];
        }

        for (var c = 0; c < model.K; c++)
        {
            var segment = model.SegmentIds[c];
            var size = sizes.GetValueOrDefault(segment);
            var published = checkpoint.CatalogSizes.TryGetValue(segment, out var last);
            if (size < options.MinSegmentSize)
            {
                if (published)
                {
                    checkpoint.CatalogSizes.Remove(segment);
                    changes.Outbox.Add(new SegmentMessage(catalog.Names.SegmentCatalog, CatalogKey(segment), null));
                }

                continue;
            }

            if (published && Math.Abs(size - last) <= options.CatalogTolerance * last)
            {
                continue;
            }

            checkpoint.CatalogSizes[segment] = size;
            changes.Outbox.Add(new SegmentMessage(catalog.Names.SegmentCatalog, CatalogKey(segment),
                CatalogRecord(segment, model.Version, size, model.Centroid(c), space.Scaler)));
        }
    }

    private static byte[] CatalogKey(int segment) => Encoding.UTF8.GetBytes(segment.ToString(System.Globalization.CultureInfo.InvariantCulture));

    internal static byte[] AssignmentRecord(string profileId, int segment, long version, double distance, DateTimeOffset at,
        IReadOnlyList<FeatureContribution> explanation) =>
        SegmentJson.Assignment(profileId, segment, version, distance, at,
            explanation.Select(e => (e.Feature, e.ProfileZ, e.SegmentZ, e.Contribution)), Explainer.Summary(explanation));

    private static byte[] CatalogRecord(int segment, long version, long size, ReadOnlySpan<double> centroid, RunningScaler scaler) =>
        SegmentJson.Catalog(segment, version, size, FeatureSpace.ToOriginalUnits(centroid, scaler),
            SegmentDescriber.TopFeatures(centroid).Select(f => (f.Feature, f.SegmentZ)), SegmentDescriber.Describe(centroid));

    public static byte[] Key(string id) => Encoding.UTF8.GetBytes(id);
}
