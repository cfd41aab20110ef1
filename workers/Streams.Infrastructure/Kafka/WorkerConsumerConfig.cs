using Confluent.Kafka;

namespace Streams.Infrastructure.Kafka;

/// <summary>The consumer settings every worker shares.</summary>
public static class WorkerConsumerConfig
{
    /// <summary>
    /// A group member whose positions live in PostgreSQL, next to what it wrote: Kafka's group offsets are committed
    /// only for monitoring (lag), never relied on; a partition without a stored position starts at the earliest record.
    /// </summary>
    public static ConsumerConfig Checkpointed(string bootstrapServers, string groupId, string clientId) => new()
    {
        BootstrapServers = bootstrapServers,
        GroupId = groupId,
        ClientId = clientId,
        EnableAutoCommit = false,
        EnableAutoOffsetStore = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        // Short sessions: a member that died is replaced quickly, and on the embedded broker a rebalance that adds a
        // member waits out the session timeout (measured).
        SessionTimeoutMs = 6000,
        HeartbeatIntervalMs = 1000,
    };
}
