using Streams.Contracts.Quarantine;
using Streams.Ingest.Quarantine;

namespace Streams.Ingest.Validation;

/// <summary>Collects every problem of one record, so a steward sees all of them at once rather than one per retry.</summary>
internal sealed class ReasonCollector
{
    /// <summary>
    /// Beyond this many reasons only the first of each new code is kept: a 1,000-item record with a bad field in
    /// every item must not make a quarantine record larger than the input.
    /// </summary>
    internal const int MaxReasons = 32;

    /// <summary>
    /// The collector this thread judges its records with. Only the lists it hands out (<see cref="Reasons"/>,
    /// <see cref="Codes"/>) outlive a record, and each record starts lists of its own, so the collector is reused.
    /// </summary>
    [ThreadStatic]
    private static ReasonCollector? threadCollector;

    private List<QuarantineReason>? reasons;
    private List<string>? codes;

    /// <summary>This thread's collector, emptied, for one record. Judging never nests.</summary>
    public static ReasonCollector ForRecord()
    {
        var collector = threadCollector ??= new ReasonCollector();
        collector.reasons = null;
        collector.codes = null;
        collector.HasQuarantining = false;
        return collector;
    }

    public bool IsEmpty => reasons is null;

    public bool HasQuarantining { get; private set; }

    // Not "codes ?? []": that empty collection takes the list's type, a new List on every read of a clean record.

    /// <summary>Distinct codes in the order first found.</summary>
    public IReadOnlyList<string> Codes => codes is null ? Array.Empty<string>() : codes;

    public IReadOnlyList<QuarantineReason> Reasons => reasons is null ? Array.Empty<QuarantineReason>() : reasons;

    public void Add(string code, string? field, string detail)
    {
        reasons ??= [];
        codes ??= [];
        var isNewCode = !codes.Contains(code);
        if (isNewCode)
        {
            codes.Add(code);
        }

        if (reasons.Count < MaxReasons || isNewCode)
        {
            reasons.Add(new QuarantineReason(code, field, detail));
        }

        HasQuarantining |= !ReasonCodes.IsFlag(code);
    }

    public bool Contains(string code) => codes?.Contains(code) == true;
}
