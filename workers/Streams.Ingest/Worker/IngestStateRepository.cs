using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Streams.Ingest.Worker;

/// <summary>Where one input partition stands: the next offset to read and the output end offsets known then.</summary>
public sealed record IngestCheckpoint(string Topic, int Partition, long NextOffset, IReadOnlyDictionary<string, long> OutputMarks);

/// <summary>An event id used by a record, for de-duplication.</summary>
public readonly record struct SeenEvent(string Topic, string EventId, long Offset, DateTimeOffset SeenAt);

/// <summary>
/// Ingest's state in PostgreSQL: checkpoints and the de-duplication window. Every batch's changes go in one
/// transaction, so what ingest has used and how far it has read never disagree.
/// </summary>
public sealed class IngestStateRepository(NpgsqlDataSource dataSource)
{
    /// <summary>The checkpoints of the given partitions that exist.</summary>
    public async Task<IReadOnlyList<IngestCheckpoint>> LoadCheckpointsAsync(
        IReadOnlyCollection<(string Topic, int Partition)> partitions, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select c.topic, c.partition, c.next_offset, c.output_marks::text
            from ingest_checkpoints c
            join unnest(@topics, @partitions) as p(topic, partition) using (topic, partition)
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]>("topics", partitions.Select(p => p.Topic).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<int[]>("partitions", partitions.Select(p => p.Partition).ToArray()));
        var result = new List<IngestCheckpoint>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var marks = JsonSerializer.Deserialize(reader.GetString(3), IngestStateJson.Default.DictionaryStringInt64) ?? [];
            result.Add(new IngestCheckpoint(reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2), marks));
        }

        return result;
    }

    /// <summary>
    /// For each (topic, event id), the time it was last used, if it was used after <paramref name="notBefore"/>.
    /// </summary>
    public async Task<Dictionary<(string Topic, string EventId), DateTimeOffset>> FindSeenAsync(
        IReadOnlyCollection<(string Topic, string EventId)> events, DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        var found = new Dictionary<(string, string), DateTimeOffset>();
        if (events.Count == 0)
        {
            return found;
        }

        await using var command = dataSource.CreateCommand("""
            select s.topic, s.event_id, s.seen_at
            from ingest_seen_events s
            join unnest(@topics, @ids) as e(topic, event_id) using (topic, event_id)
            where s.seen_at >= @not_before
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]>("topics", events.Select(e => e.Topic).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", events.Select(e => e.EventId).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("not_before", notBefore));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            found[(reader.GetString(0), reader.GetString(1))] = reader.GetFieldValue<DateTimeOffset>(2);
        }

        return found;
    }

    /// <summary>Records a batch: the event ids it used and where each of its partitions now stands.</summary>
    public async Task CommitBatchAsync(
        IReadOnlyList<SeenEvent> seen, IReadOnlyList<IngestCheckpoint> checkpoints, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (seen.Count > 0)
        {
            // A re-used id whose window has passed counts as new again: it takes over the row.
            await using var insert = new NpgsqlCommand("""
                insert into ingest_seen_events (topic, event_id, first_offset, seen_at)
                select * from unnest(@topics, @ids, @offsets, @times)
                on conflict (topic, event_id) do update
                    set first_offset = excluded.first_offset, seen_at = excluded.seen_at
                """, connection, transaction);
            insert.Parameters.Add(new NpgsqlParameter<string[]>("topics", seen.Select(s => s.Topic).ToArray()));
            insert.Parameters.Add(new NpgsqlParameter<string[]>("ids", seen.Select(s => s.EventId).ToArray()));
            insert.Parameters.Add(new NpgsqlParameter<long[]>("offsets", seen.Select(s => s.Offset).ToArray()));
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("times", seen.Select(s => s.SeenAt).ToArray())
            {
                NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz,
            });
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var upsert = new NpgsqlCommand("""
            insert into ingest_checkpoints (topic, partition, next_offset, output_marks, updated_at)
            select topic, partition, next_offset, marks::jsonb, now()
            from unnest(@topics, @partitions, @offsets, @marks) as c(topic, partition, next_offset, marks)
            on conflict (topic, partition) do update
                set next_offset = excluded.next_offset, output_marks = excluded.output_marks, updated_at = now()
            """, connection, transaction))
        {
            upsert.Parameters.Add(new NpgsqlParameter<string[]>("topics", checkpoints.Select(c => c.Topic).ToArray()));
            upsert.Parameters.Add(new NpgsqlParameter<int[]>("partitions", checkpoints.Select(c => c.Partition).ToArray()));
            upsert.Parameters.Add(new NpgsqlParameter<long[]>("offsets", checkpoints.Select(c => c.NextOffset).ToArray()));
            upsert.Parameters.Add(new NpgsqlParameter<string[]>("marks",
                checkpoints.Select(c => JsonSerializer.Serialize(c.OutputMarks, IngestStateJson.Default.IReadOnlyDictionaryStringInt64)).ToArray()));
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Forgets event ids last used before <paramref name="olderThan"/>; returns how many.</summary>
    public async Task<int> ExpireSeenAsync(DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("delete from ingest_seen_events where seen_at < @older_than");
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("older_than", olderThan));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, long>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyDictionary<string, long>))]
internal sealed partial class IngestStateJson : System.Text.Json.Serialization.JsonSerializerContext;
