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
        var changes = Engine.Apply(Checkpoint, rows, () => [.. Store.Values], sizes, updates, now);
        foreach (var id in changes.Deletes)
        {
            Store.Remove(id);
        }

        foreach (var row in changes.Upserts)
        {
            Store[row.ProfileId] = row;
        }

        return changes;
    }
}
