using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Quarantine;

namespace Streams.Profiles.Processing;

/// <summary>One record of the canonical topic, as the profiles worker understood it.</summary>
public abstract record BatchItem(SourcePosition Position);

/// <summary>A pseudonymous event to link and aggregate.</summary>
public sealed record EventItem(SourcePosition Position, CanonicalEvent Event) : BatchItem(Position);

/// <summary>A consent or erasure request.</summary>
public sealed record ConsentItem(SourcePosition Position, ConsentCommand Command) : BatchItem(Position);

/// <summary>
/// A record the worker cannot use (ingest never writes one): it goes to quarantine and the worker goes on. Only the reason,
/// the event id when it was readable and a digest are kept, never the record's key or value.
/// </summary>
/// <param name="Position">Where the record is.</param>
/// <param name="EventId">Its event id when it was read and well-formed, else null.</param>
/// <param name="Reason">Why it cannot be used.</param>
/// <param name="RawBytes">Size of its value.</param>
/// <param name="RawSha256">Hex SHA-256 of its value.</param>
public sealed record InvalidItem(SourcePosition Position, string? EventId, QuarantineReason Reason, int RawBytes, string RawSha256)
    : BatchItem(Position);
