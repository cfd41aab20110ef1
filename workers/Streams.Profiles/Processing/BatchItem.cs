using Streams.Ingest;
using Streams.Ingest.Canonical;

namespace Streams.Profiles.Processing;

/// <summary>One record of the canonical topic, as the profiles worker understood it.</summary>
public abstract record BatchItem(SourcePosition Position);

/// <summary>A pseudonymous event to link and aggregate.</summary>
public sealed record EventItem(SourcePosition Position, CanonicalEvent Event) : BatchItem(Position);

/// <summary>A consent or erasure request.</summary>
public sealed record ConsentItem(SourcePosition Position, ConsentCommand Command) : BatchItem(Position);

/// <summary>A record the worker cannot use (ingest never writes one): it goes to quarantine and the worker goes on.</summary>
public sealed record InvalidItem(SourcePosition Position, byte[]? Key, byte[]? Value, string Detail) : BatchItem(Position);
