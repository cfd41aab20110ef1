using System.Globalization;
using Confluent.Kafka;
using Streams.Contracts;

namespace Streams.Ingest.Worker;

/// <summary>
/// Where each input partition ingest holds stands: its next offset and output marks as last checkpointed, the end
/// offsets of the output partitions as delivery reports show them, and the outputs found written past the checkpoints
/// (by <see cref="RecoveryScan"/>), which are not written again. A partition is resumed once per epoch: claimed again
/// (a rebalance, a new session) it is resumed again.
/// </summary>
internal sealed class IngestPositions
{
    private readonly Dictionary<(string Topic, int Partition), long> resumedAt = [];

    // Next offset of every held input partition as last checkpointed: every batch checkpoints all of them.
    private readonly Dictionary<(string Topic, int Partition), long> positions = [];

    // The output marks last checkpointed for every held input partition.
    private readonly Dictionary<(string Topic, int Partition), IReadOnlyDictionary<string, long>> recordedMarks = [];

    // End offset of every output partition as known from delivery reports and checkpoints ("topic/partition").
    private readonly Dictionary<string, long> outputMarks = new(StringComparer.Ordinal);

    // Outputs written for records after their partition's checkpoint, found by the recovery scan: not written again.
    private readonly HashSet<EmittedOutput> alreadyEmitted = [];

    /// <summary>The input partitions resumed and still held.</summary>
    public IReadOnlyCollection<(string Topic, int Partition)> Partitions => positions.Keys;

    /// <summary>
    /// Forgets the partitions <paramref name="held"/> (a session's epochs) no longer holds at the epoch they were
    /// resumed at, and returns those it holds that are not resumed yet. Records not yet checkpointed of a partition
    /// gone are read again by its next owner.
    /// </summary>
    public List<(string Topic, int Partition)> Unresumed(IReadOnlyDictionary<(string Topic, int Partition), long> held)
    {
        foreach (var gone in resumedAt.Where(r => held.GetValueOrDefault(r.Key) != r.Value).Select(r => r.Key).ToList())
        {
            resumedAt.Remove(gone);
            positions.Remove(gone);
            recordedMarks.Remove(gone);
            alreadyEmitted.RemoveWhere(e => e.Topic == gone.Topic && e.Partition == gone.Partition);
        }

        if (held.Count == 0)
        {
            // A new session (or nothing assigned): what it resumes comes from the checkpoints.
            lock (outputMarks)
            {
                outputMarks.Clear();
            }
        }

        return [.. held.Keys.Where(p => !resumedAt.ContainsKey(p))];
    }

    /// <summary>Takes <paramref name="checkpoints"/>, just read or written, as where the partitions claimed at <paramref name="held"/> stand.</summary>
    public void Resume(IEnumerable<IngestCheckpoint> checkpoints, IReadOnlyDictionary<(string Topic, int Partition), long> held)
    {
        var list = checkpoints.ToList();
        Raise(list.SelectMany(c => c.OutputMarks));
        Remember(list);
        foreach (var checkpoint in list)
        {
            resumedAt[(checkpoint.Topic, checkpoint.Partition)] = held[(checkpoint.Topic, checkpoint.Partition)];
        }
    }

    /// <summary>True for a record at or past its partition's checkpoint: one whose outputs the recovery scan looks for.</summary>
    public bool IsPastCheckpoint(SourcePosition source) =>
        positions.TryGetValue((source.Topic, source.Partition), out var next) && source.Offset >= next;

    /// <summary>Outputs the recovery scan found written past the checkpoints.</summary>
    public void Emitted(IEnumerable<EmittedOutput> found) => alreadyEmitted.UnionWith(found);

    /// <summary>True when the output of <paramref name="kind"/> for the record at <paramref name="source"/> is already written.</summary>
    public bool WasEmitted(SourcePosition source, string kind) =>
        alreadyEmitted.Count > 0 && alreadyEmitted.Contains(new EmittedOutput(source.Topic, source.Partition, source.Offset, kind));

    /// <summary>A delivery report: the output partition ends past <paramref name="offset"/>. Called from the producer's thread.</summary>
    public void Delivered(TopicPartition partition, long offset) => Raise([new(Mark(partition), offset + 1)]);

    /// <summary>Raises output marks to <paramref name="ends"/> where those are higher.</summary>
    public void Raise(IEnumerable<KeyValuePair<string, long>> ends)
    {
        lock (outputMarks)
        {
            foreach (var (key, end) in ends)
            {
                outputMarks[key] = Math.Max(outputMarks.GetValueOrDefault(key), end);
            }
        }
    }

    /// <summary>The output partitions with a mark.</summary>
    public List<TopicPartition> OutputPartitions()
    {
        lock (outputMarks)
        {
            return [.. outputMarks.Keys.Select(ParseMark)];
        }
    }

    /// <summary>The checkpoint of every held partition once <paramref name="batch"/> is on the broker.</summary>
    public List<IngestCheckpoint> Checkpoints(IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch)
    {
        Dictionary<string, long> marks;
        lock (outputMarks)
        {
            marks = new Dictionary<string, long>(outputMarks, StringComparer.Ordinal);
        }

        // Every held partition, not only the batch's: a restart scans outputs from the lowest mark of the partitions it
        // gets, so a partition idle for a day must not hold that mark a day back.
        var next = new Dictionary<(string Topic, int Partition), long>(positions);
        foreach (var record in batch)
        {
            var key = (record.Topic, record.Partition.Value);
            next[key] = Math.Max(next.GetValueOrDefault(key), record.Offset.Value + 1);
        }

        return [.. next.Select(p => new IngestCheckpoint(p.Key.Topic, p.Key.Partition, p.Value, HasEmittedPast(p.Key, p.Value) ? recordedMarks[p.Key] : marks))];
    }

    /// <summary><paramref name="checkpoints"/> are committed: outputs of records before them need no remembering.</summary>
    public void Committed(IReadOnlyList<IngestCheckpoint> checkpoints)
    {
        Remember(checkpoints);
        alreadyEmitted.RemoveWhere(e => checkpoints.Any(c => c.Topic == e.Topic && c.Partition == e.Partition && e.Offset < c.NextOffset));
    }

    /// <summary>The key of an output partition in the marks.</summary>
    public static string Mark(TopicPartition partition) => $"{partition.Topic}/{partition.Partition.Value}";

    private static TopicPartition ParseMark(string mark)
    {
        var slash = mark.LastIndexOf('/');
        return new TopicPartition(mark[..slash], int.Parse(mark.AsSpan(slash + 1), CultureInfo.InvariantCulture));
    }

    // True while outputs written before a crash for records at or past nextOffset have not been re-read: the
    // partition's marks must stay below them, or the next restart's scan would not find them again.
    private bool HasEmittedPast((string Topic, int Partition) partition, long nextOffset) =>
        alreadyEmitted.Count > 0
        && alreadyEmitted.Any(e => e.Topic == partition.Topic && e.Partition == partition.Partition && e.Offset >= nextOffset);

    private void Remember(IEnumerable<IngestCheckpoint> checkpoints)
    {
        foreach (var checkpoint in checkpoints)
        {
            positions[(checkpoint.Topic, checkpoint.Partition)] = checkpoint.NextOffset;
            recordedMarks[(checkpoint.Topic, checkpoint.Partition)] = checkpoint.OutputMarks;
        }
    }
}
