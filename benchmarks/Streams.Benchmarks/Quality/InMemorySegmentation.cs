using Streams.Contracts.Profiles;
using Streams.Contracts.Topics;
using Streams.Segmentation;
using Streams.Segmentation.Engine;

namespace Streams.Benchmarks.Quality;

/// <summary>
/// The segmentation engine with a dictionary in place of PostgreSQL, applied mini-batch by mini-batch as the worker does
/// (rows of the batch's profiles, segment sizes of the current model version, deletes and upserts stored after). Used by
/// the segment-quality benchmark and the engine's unit tests.
/// </summary>
internal sealed class InMemorySegmentation(SegmentationOptions options, DateTimeOffset now)
{
    public SegmentationEngine Engine { get; } = new(options, new TopicCatalog(new TopicsOptions()));

    public SegmentationCheckpoint Checkpoint { get; } = SegmentationCheckpoint.Empty();

    public Dictionary<string, MemberRow> Store { get; } = new(StringComparer.Ordinal);

    /// <summary>Members of <paramref name="segment"/> in the current model version.</summary>
    public long LiveSize(int segment) => Store.Values.Count(r => r.SegmentId == segment && r.ModelVersion == Checkpoint.Model?.Version);

    public MiniBatchChanges Apply(IReadOnlyList<ProfileUpdate> updates)
    {
        var rows = updates.Select(u => u.ProfileId).Distinct().Where(Store.ContainsKey).ToDictionary(id => id, id => Store[id]);
        var version = Checkpoint.Model?.Version;
        var sizes = Store.Values.Where(r => r.SegmentId is not null && r.ModelVersion == version)
            .GroupBy(r => r.SegmentId!.Value).ToDictionary(g => g.Key, g => (long)g.Count());
        var changes = Engine.Apply(Checkpoint, rows, sizes, updates, now);
        Keep(changes);
        if (changes.Reseeded)
        {
            Reassign(changes);
        }

        return changes;
    }

    // As the worker does after a (re-)seed: every profile the new model has not assigned, a chunk at a time in profile id
    // order, then the empty chunk that settles the centroids. The chunks' outputs join the re-seed's changes.
    private void Reassign(MiniBatchChanges changes)
    {
        var version = Checkpoint.Model!.Version;
        while (true)
        {
            var stale = Store.Values.Where(r => (r.ModelVersion ?? 0) < version)
                .OrderBy(r => r.ModelVersion ?? 0).ThenBy(r => r.ProfileId, StringComparer.Ordinal)
                .Take(options.ReassignChunkSize).ToList();
            var sizes = Store.Values.Where(r => r.SegmentId is not null && r.ModelVersion == version)
                .GroupBy(r => r.SegmentId!.Value).ToDictionary(g => g.Key, g => (long)g.Count());
            var chunk = Engine.Reassign(Checkpoint, stale, sizes, now);
            var visible = sizes.Where(s => s.Value >= options.MinSegmentSize).Select(s => s.Key).ToHashSet();
            Engine.Release([.. Store.Values.Where(r => r.SegmentId is { } s && visible.Contains(s) && r.ModelVersion == version && !r.Published)], chunk);
            Keep(chunk);
            changes.Outbox.AddRange(chunk.Outbox);
            changes.Deletes.AddRange(chunk.Deletes);
            changes.Assigned += chunk.Assigned;
            if (stale.Count == 0)
            {
                return;
            }
        }
    }

    private void Keep(MiniBatchChanges changes)
    {
        foreach (var id in changes.Deletes)
        {
            Store.Remove(id);
        }

        foreach (var row in changes.Upserts)
        {
            Store[row.ProfileId] = row;
        }
    }
}
