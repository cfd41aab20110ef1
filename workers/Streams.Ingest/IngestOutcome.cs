using Streams.Contracts.Canonical;
using Streams.Contracts.Quarantine;
using Streams.Ingest.Quarantine;

namespace Streams.Ingest;

/// <summary>What became of one input record.</summary>
public enum IngestDisposition
{
    /// <summary>Clean: <see cref="IngestOutcome.Event"/> or <see cref="IngestOutcome.Consent"/> is set.</summary>
    Accepted,

    /// <summary>Used without the offending field: <see cref="IngestOutcome.Event"/> and <see cref="IngestOutcome.Quarantine"/> are set.</summary>
    Flagged,

    /// <summary>Not used: only <see cref="IngestOutcome.Quarantine"/> is set.</summary>
    Quarantined,

    /// <summary>
    /// A store sale without any identifier (CONTRACT §2.2): counted, never a profile, so no event. If it had a
    /// flag-only problem (<c>total_mismatch</c>), <see cref="IngestOutcome.Quarantine"/> holds its flagged record.
    /// </summary>
    AnonymousSale,
}

/// <summary>
/// The result of <see cref="IngestPipeline.Process"/>: at most one value for the canonical topic (an event, written as
/// <see cref="CanonicalValue"/> with its <see cref="CanonicalKey"/>, or a <see cref="Consent"/> command) and at most one
/// for the quarantine topic.
/// </summary>
/// <param name="CanonicalKey">The event's key on the canonical topic: its first identifier's pseudonym, else its id.</param>
/// <param name="CanonicalValue">The event as the canonical topic holds it (<see cref="CanonicalEventWriter"/>), written
/// while the record was judged: ingest never builds the event's objects.</param>
public sealed record IngestOutcome(
    IngestDisposition Disposition,
    string? EventId,
    string? CanonicalKey,
    byte[]? CanonicalValue,
    ConsentCommand? Consent,
    QuarantineRecord? Quarantine)
{
    /// <summary>Distinct reason codes found, for metrics; empty for a clean record.</summary>
    public IReadOnlyList<string> ReasonCodes { get; init; } = [];

    /// <summary>
    /// The event, read back from <see cref="CanonicalValue"/> by the canonical reader, as the profiles worker reads it:
    /// for whoever inspects an outcome (tests, tools). Ingest's own path uses the bytes only. Read on every call (not
    /// kept, so a copy made <c>with</c> other bytes never shows the old event).
    /// </summary>
    public CanonicalEvent? Event => CanonicalValue is null ? null : CanonicalJson.DeserializeCanonicalEvent(CanonicalValue);
}

/// <summary>What one input record writes: its outcome and the values for the canonical and quarantine topics.</summary>
/// <param name="Outcome">The outcome; quarantined when its output could not be written.</param>
/// <param name="Outputs">At most one canonical value and one quarantine value, each within the producer's limit.</param>
public sealed record IngestResult(IngestOutcome Outcome, IReadOnlyList<IngestOutput> Outputs);

/// <summary>One value to produce.</summary>
/// <param name="Kind"><see cref="Worker.OutputHeaders.KindEvent"/> or <see cref="Worker.OutputHeaders.KindConsent"/> (canonical
/// topic) or <see cref="Worker.OutputHeaders.KindQuarantine"/> (the input topic's quarantine).</param>
/// <param name="Key">The message key; for a quarantine record never the input key.</param>
/// <param name="Value">UTF-8 JSON.</param>
public readonly record struct IngestOutput(string Kind, byte[]? Key, byte[] Value);
