using System.Diagnostics.Metrics;
using Streams.Profiles.Processing;

namespace Streams.Profiles.Worker;

/// <summary>Profiles counters on the <c>Streams.Profiles</c> meter, with totals for the log and the console view.</summary>
public sealed class ProfilesMetrics
{
    public const string MeterName = "Streams.Profiles";

    private readonly Counter<long> records;
    private readonly Counter<long> merges;
    private readonly Counter<long> conflicts;
    private readonly Counter<long> quarantined;
    private readonly Counter<long> shared;
    private readonly Counter<long> blocked;
    private readonly Histogram<double> stageTime;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, double> stageTotals = new(StringComparer.Ordinal);
    private long totalRecords;
    private long totalEvents;
    private long totalMerges;
    private long totalConflicts;
    private long totalBlocked;
    private long totalCreated;
    private long totalErased;
    private long totalWrites;
    private long totalQuarantined;

    public ProfilesMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        records = meter.CreateCounter<long>("streams.profiles.records", "{record}", "Canonical records committed.");
        merges = meter.CreateCounter<long>("streams.profiles.merges", "{merge}", "Profiles absorbed by identity resolution.");
        conflicts = meter.CreateCounter<long>("streams.profiles.identity_conflicts", "{link}",
            "Links refused by Identity:MaxPerType, through an identifier marked shared, or undone by an operator.");
        shared = meter.CreateCounter<long>("streams.profiles.shared_identifiers", "{identifier}",
            "Identifiers marked shared by Identity:SharedAfterRefusals: they link no profile any more.");
        blocked = meter.CreateCounter<long>("streams.profiles.blocked_links", "{link}",
            "Identifiers left out of an event because an operator's unmerge or detach blocked them beside another of its identifiers.");
        quarantined = meter.CreateCounter<long>("streams.profiles.quarantined", "{record}",
            "Canonical records that could not be used, sent to the canonical quarantine topic.");
        stageTime = meter.CreateHistogram<double>("streams.profiles.stage_duration", "ms",
            "Time per batch in each stage: read, load, apply, save, commit, publish.");
    }

    public long Records => Interlocked.Read(ref totalRecords);

    public long Events => Interlocked.Read(ref totalEvents);

    public long Merges => Interlocked.Read(ref totalMerges);

    public long Conflicts => Interlocked.Read(ref totalConflicts);

    /// <summary>Of <see cref="Conflicts"/>, the links an operator's unmerge or detach blocked.</summary>
    public long Blocked => Interlocked.Read(ref totalBlocked);

    /// <summary>Canonical records quarantined (they count in <see cref="Records"/> too: they were consumed).</summary>
    public long Quarantined => Interlocked.Read(ref totalQuarantined);

    public long Erased => Interlocked.Read(ref totalErased);

    /// <summary>Profile rows written (one per profile a batch changed): with <see cref="Events"/>, what a batch saves per event.</summary>
    public long ProfileWrites => Interlocked.Read(ref totalWrites);

    /// <summary>Canonical partitions this instance holds now.</summary>
    public int AssignedPartitions => Volatile.Read(ref assigned);

    private int assigned;

    public void SetAssigned(int partitions) => Volatile.Write(ref assigned, partitions);

    /// <summary>Adds the time one batch spent in a stage.</summary>
    public void Stage(string stage, TimeSpan elapsed)
    {
        stageTime.Record(elapsed.TotalMilliseconds, new KeyValuePair<string, object?>("stage", stage));
        stageTotals.AddOrUpdate(stage, elapsed.TotalMilliseconds, (_, total) => total + elapsed.TotalMilliseconds);
    }

    /// <summary>Total milliseconds per stage since start: where the time goes.</summary>
    public IReadOnlyDictionary<string, double> StageTotals => new Dictionary<string, double>(stageTotals);

    public void Record(int batchRecords, BatchChanges changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        records.Add(batchRecords);
        merges.Add(changes.Merges.Count);
        conflicts.Add(changes.Conflicts);
        shared.Add(changes.MarkedShared);
        blocked.Add(changes.Blocked);
        Interlocked.Add(ref totalBlocked, changes.Blocked);
        quarantined.Add(changes.Invalid);
        Interlocked.Add(ref totalQuarantined, changes.Invalid);
        Interlocked.Add(ref totalRecords, batchRecords);
        Interlocked.Add(ref totalEvents, changes.Events);
        Interlocked.Add(ref totalMerges, changes.Merges.Count);
        Interlocked.Add(ref totalConflicts, changes.Conflicts);
        Interlocked.Add(ref totalErased, changes.Erased.Count);
        Interlocked.Add(ref totalCreated, changes.Upserts.Count(p => p.Version == 1));
        Interlocked.Add(ref totalWrites, changes.Upserts.Count);
    }
}
