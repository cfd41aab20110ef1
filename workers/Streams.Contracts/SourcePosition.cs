namespace Streams.Contracts;

/// <summary>Where an input record was read: lets a steward or a replay find the original.</summary>
public sealed record SourcePosition(string Topic, int Partition, long Offset);
