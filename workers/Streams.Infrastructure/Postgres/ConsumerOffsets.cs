using Npgsql;

namespace Streams.Infrastructure.Postgres;

/// <summary>
/// The <c>consumer_offsets</c> table (migration 0001): where each worker keeps, per input partition, the offset after
/// the last record it committed, written in the same transaction as what it made of those records.
/// </summary>
public static class ConsumerOffsets
{
    /// <summary>
    /// The upsert of <paramref name="offsets"/> for <paramref name="consumer"/>, to add to a batch's transaction, behind
    /// the fence: the transaction fails whole (<see cref="PartitionEpochs.FencedSqlState"/>) unless <paramref name="epochs"/>
    /// holds each partition's current epoch, so an instance that has lost a partition neither stores effects nor moves
    /// its offset back.
    /// </summary>
    public static NpgsqlBatchCommand Save(string consumer, IReadOnlyList<(string Topic, int Partition, long NextOffset)> offsets,
        IReadOnlyDictionary<(string Topic, int Partition), long> epochs, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        var command = new NpgsqlBatchCommand("""
            insert into consumer_offsets (consumer, topic, partition, next_offset, updated_at)
            select @consumer, topic, partition, next_offset, @now
            from unnest(@topics, @partitions, @offsets) as u(topic, partition, next_offset), streams_fence(@consumer, @topics, @partitions, @epochs)
            on conflict (consumer, topic, partition) do update set next_offset = excluded.next_offset, updated_at = excluded.updated_at
            """);
        command.Parameters.Add(new NpgsqlParameter<string>("consumer", consumer));
        command.Parameters.Add(new NpgsqlParameter<string[]>("topics", offsets.Select(o => o.Topic).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<int[]>("partitions", offsets.Select(o => o.Partition).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<long[]>("offsets", offsets.Select(o => o.NextOffset).ToArray()));
        command.Parameters.Add(PartitionEpochs.EpochsOf(offsets.Select(o => (o.Topic, o.Partition)), epochs));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
        return command;
    }

    /// <summary>Every partition's next offset stored for <paramref name="consumer"/>.</summary>
    public static Dictionary<(string Topic, int Partition), long> Load(NpgsqlDataSource dataSource, string consumer)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        using var command = dataSource.CreateCommand("select topic, partition, next_offset from consumer_offsets where consumer = @consumer");
        command.Parameters.Add(new NpgsqlParameter<string>("consumer", consumer));
        using var reader = command.ExecuteReader();
        var offsets = new Dictionary<(string, int), long>();
        while (reader.Read())
        {
            offsets[(reader.GetString(0), reader.GetInt32(1))] = reader.GetInt64(2);
        }

        return offsets;
    }
}
