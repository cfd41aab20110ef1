namespace Streams.Infrastructure.Telemetry;

/// <summary>A worker's consumer group and the topics it consumes: whose lag <see cref="RuntimeSampler"/> reads.</summary>
public sealed record ConsumerGroupWatch(string Worker, string GroupId, IReadOnlyList<string> Topics);
