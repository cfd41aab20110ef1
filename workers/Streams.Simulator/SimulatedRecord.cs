using Streams.Contracts.Quarantine;
using Streams.Ingest.Validation;

namespace Streams.Simulator;

/// <summary>
/// One raw input record as a channel team would publish it.
/// </summary>
/// <param name="Topic">CONTRACT §1 input topic: <c>clickstream</c>, <c>store</c>, <c>callcenter</c>, <c>social</c> or <c>consent</c>.</param>
/// <param name="Value">The raw value (CONTRACT §2 JSON, or deliberately broken text).</param>
/// <param name="EventId">The event id the record was generated with (also for a malformed record, whose id ingest cannot read).</param>
/// <param name="CustomerId">The simulated customer behind it; null for none.</param>
/// <param name="InjectedCodes">The CONTRACT §4 codes ingest must report for this record; empty when clean.</param>
public sealed record SimulatedRecord(string Topic, string Value, string EventId, int? CustomerId, IReadOnlyList<string> InjectedCodes)
{
    public bool IsClean => InjectedCodes.Count == 0;
}

/// <summary>The input topics (CONTRACT §1 defaults) the simulator writes to.</summary>
public static class SimulatorTopics
{
    public const string Clickstream = "clickstream";
    public const string Store = "store";
    public const string Callcenter = "callcenter";
    public const string Social = "social";
    public const string Consent = "consent";

    public static IReadOnlyList<string> All { get; } = [Clickstream, Store, Callcenter, Social, Consent];
}

/// <summary>
/// The CONTRACT §4 reason codes the simulator injects into single records, in the order it considers them (ingest's
/// <see cref="ReasonCodes"/>: one spelling for the whole project). Duplicates and identity conflicts come from how
/// records are repeated and identifiers shared, not from one record.
/// </summary>
public static class InjectedCodes
{
    public static IReadOnlyList<string> PerRecord { get; } =
    [
        ReasonCodes.MalformedJson, ReasonCodes.OversizedRecord, ReasonCodes.SchemaViolation, ReasonCodes.InvalidEmail,
        ReasonCodes.InvalidPhone, ReasonCodes.FutureTimestamp, ReasonCodes.OutOfRange, ReasonCodes.UnknownCurrency,
        ReasonCodes.TotalMismatch, ReasonCodes.IdentityConflict,
    ];
}
