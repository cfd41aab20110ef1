using Confluent.Kafka;

namespace Streams.Infrastructure.Kafka;

/// <summary>The consumer settings every worker shares.</summary>
public static class WorkerConsumerConfig
{
    /// <summary>
    /// A group member whose positions live in PostgreSQL, next to what it wrote: Kafka's group offsets are committed
    /// only for monitoring (lag), never relied on; a partition without a stored position starts at the earliest record.
    /// A fetch that finds nothing new is held at most <paramref name="fetchWait"/> (at most 500 ms, librdkafka's default).
    /// </summary>
    public static ConsumerConfig Checkpointed(string bootstrapServers, string groupId, string clientId, TimeSpan fetchWait) => new()
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
        // How long the broker may hold a fetch that finds nothing new. A real broker answers as soon as a record arrives,
        // so this only sets how often an idle consumer asks again; the embedded broker answers an empty fetch only after
        // the whole wait, even when records arrive meanwhile, so with the default (500 ms) a record written just after a
        // caught-up worker's fetch waited up to half a second before any batch could take it. The runtime passes its batch
        // linger: a record waits for its fetch about as long as for its batch. Shorter costs the broker more empty fetches
        // (see benchmarks/README.md, "Batches that follow the backlog").
        FetchWaitMaxMs = (int)Math.Clamp(fetchWait.TotalMilliseconds, 1, 500),
    };
}
