namespace Streams.Simulator.Publishing;

/// <summary>
/// How many bytes this producer has put on each input partition that the ingest consumer group has not committed yet,
/// and whether one more record may go. The embedded broker keeps about 5 MiB per partition and silently drops the
/// oldest data beyond that (DESIGN.md), so no partition may run more than a bounded number of bytes ahead of ingest.
/// </summary>
/// <remarks>
/// Records sent but not yet acknowledged could land on any partition, so they count against every partition. Committed
/// offsets only grow and arrive late, so the figure can only be too high, never too low: the bound holds. One record
/// larger than the bound still goes when nothing else is outstanding, or it would never go. Thread-safe: delivery
/// reports arrive on the producer's thread.
/// </remarks>
public sealed class Backpressure
{
    private readonly Lock gate = new();
    private readonly Dictionary<(string Topic, int Partition), PartitionLedger> partitions = [];
    private long inFlight;

    public Backpressure(long maxBytesAhead)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytesAhead, 1);
        MaxBytesAhead = maxBytesAhead;
    }

    public long MaxBytesAhead { get; }

    /// <summary>Bytes sent and not acknowledged yet.</summary>
    public long InFlight
    {
        get
        {
            lock (gate)
            {
                return inFlight;
            }
        }
    }

    /// <summary>The most bytes any one partition is ahead of the group (acknowledged, not committed).</summary>
    public long MaxAhead
    {
        get
        {
            lock (gate)
            {
                return MaxAheadLocked();
            }
        }
    }

    /// <summary>Whether a record of <paramref name="bytes"/> may be sent now.</summary>
    public bool MayProduce(long bytes)
    {
        lock (gate)
        {
            var ahead = MaxAheadLocked();
            return (inFlight == 0 && ahead == 0) || inFlight + ahead + bytes <= MaxBytesAhead;
        }
    }

    /// <summary>A record of <paramref name="bytes"/> was handed to the producer.</summary>
    public void Sent(long bytes)
    {
        lock (gate)
        {
            inFlight += bytes;
        }
    }

    /// <summary>The broker acknowledged a record at <paramref name="offset"/>.</summary>
    public void Delivered(string topic, int partition, long offset, long bytes)
    {
        lock (gate)
        {
            inFlight = Math.Max(0, inFlight - bytes);
            Ledger(topic, partition).Add(offset, bytes);
        }
    }

    /// <summary>The record was not written (delivery failed): it is no longer outstanding.</summary>
    public void Failed(long bytes)
    {
        lock (gate)
        {
            inFlight = Math.Max(0, inFlight - bytes);
        }
    }

    /// <summary>The group's committed offset (next to read) of a partition; records before it no longer count.</summary>
    public void Committed(string topic, int partition, long nextOffset)
    {
        lock (gate)
        {
            Ledger(topic, partition).Commit(nextOffset);
        }
    }

    private long MaxAheadLocked()
    {
        var max = 0L;
        foreach (var ledger in partitions.Values)
        {
            max = Math.Max(max, ledger.Ahead);
        }

        return max;
    }

    private PartitionLedger Ledger(string topic, int partition)
    {
        if (!partitions.TryGetValue((topic, partition), out var ledger))
        {
            partitions[(topic, partition)] = ledger = new PartitionLedger();
        }

        return ledger;
    }

    /// <summary>Acknowledged records of one partition the group has not committed, in offset order.</summary>
    private sealed class PartitionLedger
    {
        // Delivery reports of one partition come in offset order; a late one is inserted in place all the same.
        private readonly LinkedList<(long Offset, long Bytes)> pending = [];
        private long committed = -1;

        public long Ahead { get; private set; }

        public void Add(long offset, long bytes)
        {
            if (offset < committed)
            {
                return;
            }

            var after = pending.Last;
            while (after is not null && after.Value.Offset > offset)
            {
                after = after.Previous;
            }

            if (after is null)
            {
                pending.AddFirst((offset, bytes));
            }
            else
            {
                pending.AddAfter(after, (offset, bytes));
            }

            Ahead += bytes;
        }

        public void Commit(long nextOffset)
        {
            committed = Math.Max(committed, nextOffset);
            while (pending.First is { } first && first.Value.Offset < committed)
            {
                Ahead -= first.Value.Bytes;
                pending.RemoveFirst();
            }
        }
    }
}
