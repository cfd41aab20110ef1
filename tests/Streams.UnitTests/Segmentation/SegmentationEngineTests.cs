using System.Text;
using System.Text.Json;
using Streams.Contracts.Profiles;
using Streams.Contracts.Topics;
using Streams.Segmentation;
using Streams.Segmentation.Engine;

namespace Streams.UnitTests.Segmentation;

/// <summary>One mini-batch at a time through the engine, as the worker hands it over.</summary>
public sealed class SegmentationEngineTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ProfileGoneOrOptedOut_LaterInTheSameMiniBatch_IsNeitherStoredNorAssigned()
    {
        var catalog = new TopicCatalog(new TopicsOptions());
        var engine = new SegmentationEngine(new SegmentationOptions { K = 2, SeedSize = 20, MinSegmentSize = 1 }, catalog);
        var checkpoint = SegmentationCheckpoint.Empty();
        var rows = new Dictionary<string, MemberRow>(StringComparer.Ordinal);
        var rng = new Random(3);
        var seeding = Enumerable.Range(0, 40).Select(i => new ProfileUpdate($"p{i}", Features(rng, i % 2), true)).ToList();
        var first = engine.Apply(checkpoint, rows, [], seeding, Now);
        Assert.True(first.Reseeded);

        // A profile that appears and is merged away (tombstone), one that opts out right after a change, and one that
        // changes twice: all in the next mini-batch.
        var stored = first.Upserts.ToDictionary(r => r.ProfileId);
        var sizes = stored.Values.GroupBy(r => r.SegmentId!.Value).ToDictionary(g => g.Key, g => (long)g.Count());
        var second = engine.Apply(checkpoint, new Dictionary<string, MemberRow>(stored), sizes,
        [
            new ProfileUpdate("merged-away", Features(rng, 0), true), new ProfileUpdate("merged-away", null, false),
            new ProfileUpdate("p1", Features(rng, 1), true), new ProfileUpdate("p1", Features(rng, 1), false),
            new ProfileUpdate("p2", Features(rng, 0), true), new ProfileUpdate("p2", Features(rng, 0), true),
        ], Now);

        Assert.DoesNotContain(second.Upserts, r => r.ProfileId is "merged-away" or "p1");
        Assert.Single(second.Upserts, r => r.ProfileId == "p2");
        Assert.Contains("p1", second.Deletes);
        var live = second.Outbox.Where(m => m.Topic == catalog.Names.Segments && m.Value is not null).Select(m => Encoding.UTF8.GetString(m.Key)).ToList();
        Assert.DoesNotContain("merged-away", live);
        Assert.DoesNotContain("p1", live);
    }

    /// <summary>
    /// The worker carries the sizes from one mini-batch to the next instead of counting the stored rows again, so the
    /// engine's bookkeeping must equal that count after every mini-batch and every re-assignment chunk: new profiles,
    /// changes, opt-outs, tombstones, duplicates within a batch and re-seeds (k chosen, the sample growing, the guard).
    /// </summary>
    [Fact]
    public void Sizes_CarriedFromBatchToBatch_EqualACountOfTheStoredRows()
    {
        var options = new SegmentationOptions { SeedSize = 40, SampleSize = 300, QualityEvery = 3, MinSegmentSize = 5, ReassignChunkSize = 25 };
        var engine = new SegmentationEngine(options, new TopicCatalog(new TopicsOptions()));
        var checkpoint = SegmentationCheckpoint.Empty();
        var store = new Dictionary<string, MemberRow>(StringComparer.Ordinal);
        var sizes = new Dictionary<int, long>();
        var rng = new Random(11);
        var reseeds = 0;
        for (var batch = 0; batch < 60; batch++)
        {
            var updates = Enumerable.Range(0, 40).Select(_ =>
            {
                var id = $"p{rng.Next(0, 20 + batch * 15)}";
                return rng.Next(12) switch
                {
                    0 => new ProfileUpdate(id, null, false),
                    1 => new ProfileUpdate(id, Varied(rng), false),
                    _ => new ProfileUpdate(id, Varied(rng), true),
                };
            }).ToList();
            var rows = updates.Select(u => u.ProfileId).Distinct().Where(store.ContainsKey).ToDictionary(id => id, id => store[id], StringComparer.Ordinal);
            if (checkpoint.Model is null)
            {
                sizes = [];
            }

            var changes = engine.Apply(checkpoint, rows, sizes, updates, Now);
            Store(store, changes);
            AssertSizes(checkpoint, store, sizes);
            if (!changes.Reseeded)
            {
                continue;
            }

            reseeds++;
            while (true)
            {
                var version = checkpoint.Model!.Version;
                var stale = store.Values.Where(r => (r.ModelVersion ?? 0) < version).OrderBy(r => r.ProfileId, StringComparer.Ordinal)
                    .Take(options.ReassignChunkSize).ToList();
                Store(store, engine.Reassign(checkpoint, stale, sizes, Now));
                AssertSizes(checkpoint, store, sizes);
                if (stale.Count == 0)
                {
                    break;
                }
            }
        }

        Assert.True(reseeds >= 3, $"{reseeds} re-seeds");
    }

    [Fact]
    public void Reassign_ARowOfAnOlderFeatureSpace_IsRemoved_WithoutCountingAsAMemberOfTheSegmentWithItsIdNow()
    {
        var engine = new SegmentationEngine(new SegmentationOptions { K = 2, SeedSize = 20, MinSegmentSize = 1 }, new TopicCatalog(new TopicsOptions()));
        var checkpoint = SegmentationCheckpoint.Empty();
        var rng = new Random(5);
        var first = engine.Apply(checkpoint, [], [], [.. Enumerable.Range(0, 40).Select(i => new ProfileUpdate($"p{i}", Features(rng, i % 2), true))], Now);
        Assert.True(first.Reseeded);
        var segment = checkpoint.Model!.SegmentIds[0];
        var sizes = first.Upserts.GroupBy(r => r.SegmentId!.Value).ToDictionary(g => g.Key, g => (long)g.Count());
        var members = sizes[segment];

        // Assigned by an older release's model (version 0, five dimensions) to a segment whose id the current model reuses.
        var old = new MemberRow { ProfileId = "old", Raw = new double[5], SegmentId = segment, ModelVersion = 0, Published = true };
        var changes = engine.Reassign(checkpoint, [old], sizes, Now);

        Assert.Equal(["old"], changes.Deletes);
        Assert.Equal(members, sizes[segment]);
    }

    /// <summary>
    /// A profile that stays in its published segment gets no new record, on <c>segments</c> or in its row: the row comes
    /// back without its assignment (null, as the worker loads it), which the save keeps, so the stored explanation stays
    /// the one campaign systems have. A profile that is new, or not published yet, is explained as before.
    /// </summary>
    [Fact]
    public void UpdatedProfile_InItsPublishedSegment_GetsNoNewRecord_AndItsRowKeepsTheStoredAssignment()
    {
        var catalog = new TopicCatalog(new TopicsOptions());
        var engine = new SegmentationEngine(new SegmentationOptions { K = 2, SeedSize = 20, MinSegmentSize = 1 }, catalog);
        var checkpoint = SegmentationCheckpoint.Empty();
        var rng = new Random(7);
        var first = engine.Apply(checkpoint, [], [], [.. Enumerable.Range(0, 40).Select(i => new ProfileUpdate($"p{i}", Features(rng, i % 2), true))], Now);
        Assert.True(first.Reseeded);
        Assert.All(first.Upserts, r => Assert.True(r.Published && r.Assignment is not null));
        var sizes = first.Upserts.GroupBy(r => r.SegmentId!.Value).ToDictionary(g => g.Key, g => (long)g.Count());
        // As LoadRows reads them: everything but the assignment.
        var rows = first.Upserts.Take(10).ToDictionary(r => r.ProfileId,
            r => new MemberRow { ProfileId = r.ProfileId, Raw = r.Raw, SegmentId = r.SegmentId, ModelVersion = r.ModelVersion, Published = true },
            StringComparer.Ordinal);
        var segments = rows.ToDictionary(r => r.Key, r => r.Value.SegmentId);

        var second = engine.Apply(checkpoint, rows, sizes,
            [.. rows.Keys.Select(id => new ProfileUpdate(id, Features(rng, int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture) % 2), true)),
                new ProfileUpdate("new", Features(rng, 0), true)], Now.AddMinutes(5));

        Assert.False(second.Reseeded);
        var kept = second.Upserts.Where(r => r.ProfileId != "new").ToList();
        Assert.Equal(10, kept.Count);
        Assert.All(kept, r => Assert.Equal(segments[r.ProfileId], r.SegmentId));
        Assert.All(kept, r => Assert.Null(r.Assignment));
        var published = second.Outbox.Where(m => m.Topic == catalog.Names.Segments).Select(m => Encoding.UTF8.GetString(m.Key)).ToList();
        Assert.Equal(["new"], published);
        Assert.NotNull(Assert.Single(second.Upserts, r => r.ProfileId == "new").Assignment);
    }

    /// <summary>
    /// The engine keeps the sample from one mini-batch to the next. A checkpoint read again from the store (after a commit
    /// that failed, or by another instance) is another object with the state as stored, and must be continued from that
    /// state, not from the sample the engine changed since: every mini-batch ends exactly as on an engine that keeps none.
    /// </summary>
    [Fact]
    public void Apply_OnACheckpointReadAgain_ContinuesFromItsState_NotFromTheSampleTheEngineKept()
    {
        var options = new SegmentationOptions { SeedSize = 20, SampleSize = 30, QualityEvery = 1_000, MinSegmentSize = 1 };
        var catalog = new TopicCatalog(new TopicsOptions());
        var keeping = new SegmentationEngine(options, catalog);
        var rng = new Random(21);
        var checkpoint = SegmentationCheckpoint.Empty();
        var store = new Dictionary<string, MemberRow>(StringComparer.Ordinal);
        var sizes = new Dictionary<int, long>();
        for (var batch = 0; batch < 12; batch++)
        {
            var updates = Enumerable.Range(0, 25).Select(_ => new ProfileUpdate($"p{rng.Next(60)}", Varied(rng), rng.Next(10) > 0)).ToList();
            var stored = (Checkpoint: Copy(checkpoint), Rows: CopyRows(store), Sizes: new Dictionary<int, long>(sizes));
            Apply(keeping, checkpoint, store, sizes, updates);

            var fresh = (Checkpoint: Copy(stored.Checkpoint), Rows: CopyRows(stored.Rows), Sizes: new Dictionary<int, long>(stored.Sizes));
            Apply(new SegmentationEngine(options, catalog), fresh.Checkpoint, fresh.Rows, fresh.Sizes, updates);
            Assert.Equal(Serialized(fresh.Checkpoint), Serialized(checkpoint));

            if (batch % 3 == 0)
            {
                // The commit failed: the next mini-batch starts from what was stored before this one.
                (checkpoint, store, sizes) = stored;
            }
        }

        Assert.NotNull(checkpoint.Model);

        static void Apply(SegmentationEngine engine, SegmentationCheckpoint state, Dictionary<string, MemberRow> store,
            Dictionary<int, long> counts, List<ProfileUpdate> updates)
        {
            var rows = updates.Select(u => u.ProfileId).Distinct().Where(store.ContainsKey)
                .ToDictionary(id => id, id => store[id], StringComparer.Ordinal);
            Store(store, engine.Apply(state, rows, counts, updates, Now));
        }

        static string Serialized(SegmentationCheckpoint state) => JsonSerializer.Serialize(state, SegmentationJsonContext.Default.SegmentationCheckpoint);

        static SegmentationCheckpoint Copy(SegmentationCheckpoint state) =>
            JsonSerializer.Deserialize(Serialized(state), SegmentationJsonContext.Default.SegmentationCheckpoint)!;

        // Rows are changed in place by the engine: a copy of each.
        static Dictionary<string, MemberRow> CopyRows(Dictionary<string, MemberRow> rows) => rows.Values.ToDictionary(r => r.ProfileId,
            r => new MemberRow
            {
                ProfileId = r.ProfileId, Raw = r.Raw, SegmentId = r.SegmentId, ModelVersion = r.ModelVersion, Published = r.Published,
                Assignment = r.Assignment,
            }, StringComparer.Ordinal);
    }

    private static void Store(Dictionary<string, MemberRow> store, MiniBatchChanges changes)
    {
        foreach (var id in changes.Deletes)
        {
            store.Remove(id);
        }

        foreach (var row in changes.Upserts)
        {
            store[row.ProfileId] = row;
        }
    }

    private static void AssertSizes(SegmentationCheckpoint checkpoint, Dictionary<string, MemberRow> store, Dictionary<int, long> sizes)
    {
        var version = checkpoint.Model?.Version;
        var counted = store.Values.Where(r => r.SegmentId is not null && r.ModelVersion == version)
            .GroupBy(r => r.SegmentId!.Value).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(counted.OrderBy(c => c.Key), sizes.Where(s => s.Value != 0).OrderBy(s => s.Key));
    }

    // Three kinds of customer, each with its own spread of behaviour (shares, not only amounts, so they differ in the model's space).
    private static Dictionary<string, double> Varied(Random rng) => rng.Next(3) switch
    {
        0 => new() { ["store_spend"] = 500 + rng.Next(100), ["event_count"] = 20 + rng.Next(5), ["online_share"] = 0.2 * rng.NextDouble() },
        1 => new() { ["online_spend"] = 300 + rng.Next(100), ["event_count"] = 80 + rng.Next(10), ["online_share"] = 0.8 + 0.2 * rng.NextDouble() },
        _ => new()
        {
            ["call_count"] = 5 + rng.Next(10), ["event_count"] = 15 + rng.Next(5), ["complaint_share"] = rng.NextDouble(),
            ["avg_call_sentiment"] = -rng.NextDouble(),
        },
    };

    private static Dictionary<string, double> Features(Random rng, int group) => group == 0
        ? new() { ["store_spend"] = 500 + rng.Next(100), ["event_count"] = 20 + rng.Next(5), ["online_share"] = 0.05 }
        : new() { ["online_spend"] = 300 + rng.Next(100), ["event_count"] = 80 + rng.Next(10), ["online_share"] = 0.95 };
}
