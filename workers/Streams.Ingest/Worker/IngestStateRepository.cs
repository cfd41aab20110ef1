using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Streams.Infrastructure.Postgres;

namespace Streams.Ingest.Worker;

/// <summary>Where one input partition stands: the next offset to read and the output end offsets known then.</summary>
public sealed record IngestCheckpoint(string Topic, int Partition, long NextOffset, IReadOnlyDictionary<string, long> OutputMarks);

/// <summary>An event id used by a record, for de-duplication, and when ingest saw it (its own clock, not the producer's).</summary>
public readonly record struct SeenEvent(string Topic, string EventId, int Partition, long Offset, DateTimeOffset SeenAt);

/// <summary>
/// Ingest's state in PostgreSQL: checkpoints (next offsets in the runtime's <c>consumer_offsets</c>, output marks in
/// <c>ingest_output_marks</c>) and the de-duplication window. A batch claims its event ids before it produces and
/// records its checkpoints after its outputs are on the broker.
/// </summary>
public sealed class IngestStateRepository(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// The checkpoints of the given partitions that have one: the next offset stored in <c>consumer_offsets</c> with the
    /// output marks stored beside it (none, and so a scan from the outputs' beginnings, where there are no marks).
    /// </summary>
    public IReadOnlyList<IngestCheckpoint> LoadCheckpoints(IReadOnlyCollection<(string Topic, int Partition)> partitions)
    {
        using var command = dataSource.CreateCommand("""
            select o.topic, o.partition, o.next_offset, coalesce(m.output_marks, '{}'::json)::text
            from consumer_offsets o
            join unnest(@topics, @partitions) as p(topic, partition) using (topic, partition)
            left join ingest_output_marks m using (topic, partition)
            where o.consumer = @consumer
            """);
        command.Parameters.Add(new NpgsqlParameter<string>("consumer", IngestWorker.Consumer));
        command.Parameters.Add(new NpgsqlParameter<string[]>("topics", partitions.Select(p => p.Topic).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<int[]>("partitions", partitions.Select(p => p.Partition).ToArray()));
        var result = new List<IngestCheckpoint>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var marks = JsonSerializer.Deserialize(reader.GetString(3), IngestStateJson.Default.DictionaryStringInt64) ?? [];
            result.Add(new IngestCheckpoint(reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2), marks));
        }

        return result;
    }

    /// <summary>
    /// Claims the event ids of records about to be used, in one transaction of its own, before anything is produced:
    /// returns the ones another record already holds within the window, which are duplicates. A conflict on insert is
    /// a duplicate, so two instances that read one id on different partitions cannot both use it (the second insert
    /// waits for the first transaction and then finds its row). The record that holds a claim keeps it when read again
    /// after a crash or by the partition's next owner, so a replay is judged as the first reading was.
    /// </summary>
    /// <param name="events">At most one record per (topic, event id); the caller settles repeats within a batch.</param>
    /// <param name="expiredBefore">A claim seen by ingest before this has left the window: the id counts as new again.</param>
    public async Task<HashSet<(string Topic, string EventId)>> ClaimAsync(
        IReadOnlyList<SeenEvent> events, DateTimeOffset expiredBefore, CancellationToken cancellationToken)
    {
        var held = events.Select(e => (e.Topic, e.EventId)).ToHashSet();
        if (events.Count == 0)
        {
            return held;
        }

        var original = events.ToDictionary(e => (e.Topic, StoredEventId(e.EventId)), e => e.EventId);

        // In one order for every instance: two batches that claim the same ids in different orders would otherwise
        // each wait for a row the other has inserted (seen: a deadlock with two instances).
        await using var command = dataSource.CreateCommand("""
            insert into ingest_seen_events (topic, event_id, first_partition, first_offset, seen_at)
            select * from unnest(@topics, @ids, @partitions, @offsets, @times) as c(topic, event_id, first_partition, first_offset, seen_at)
            order by topic collate "C", event_id collate "C"
            on conflict (topic, event_id) do update
                set first_partition = excluded.first_partition, first_offset = excluded.first_offset, seen_at = excluded.seen_at
                where ingest_seen_events.seen_at < @expired_before
                   or (ingest_seen_events.first_partition = excluded.first_partition
                       and ingest_seen_events.first_offset = excluded.first_offset)
            returning topic, event_id
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]>("topics", events.Select(s => s.Topic).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", events.Select(s => StoredEventId(s.EventId)).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<int[]>("partitions", events.Select(s => s.Partition).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<long[]>("offsets", events.Select(s => s.Offset).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("times", events.Select(s => s.SeenAt).ToArray())
        {
            NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz,
        });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("expired_before", expiredBefore));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var topic = reader.GetString(0);
            held.Remove((topic, original[(topic, reader.GetString(1))]));
        }

        return held;
    }

    /// <summary>
    /// An event id as PostgreSQL text holds it, here and wherever a table is joined with the de-duplication claims (the
    /// stewards' quarantine index). PostgreSQL text cannot hold U+0000, which an event id may contain (seen: one such id
    /// stopped ingest for good). Such ids are stored escaped, U+FFFF 0 for U+0000 and U+FFFF doubled, which keeps
    /// different ids different; every other id (all but ones with U+0000 or the noncharacter U+FFFF) is stored as it is.
    /// </summary>
    public static string StoredEventId(string eventId) => eventId.AsSpan().IndexOfAny('\0', '\uFFFF') < 0
        ? eventId
        : eventId.Replace("\uFFFF", "\uFFFF\uFFFF", StringComparison.Ordinal).Replace("\0", "\uFFFF0", StringComparison.Ordinal);

    /// <summary>
    /// Of <paramref name="records"/> (topic, event id in its <see cref="StoredEventId"/> form, and the record's position),
    /// those whose record holds the claim on its event id: ingest accepted that record, it was not a duplicate. The one
    /// way other capabilities learn about the claims (the stewards, whether a replay went through).
    /// </summary>
    public static async Task<List<(string Topic, string EventId, int Partition, long Offset)>> HoldersAsync(NpgsqlDataSource dataSource,
        IReadOnlyCollection<(string Topic, string EventId, int Partition, long Offset)> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(records);
        var holders = new List<(string, string, int, long)>();
        if (records.Count == 0)
        {
            return holders;
        }

        await using var command = dataSource.CreateCommand("""
            select s.topic, s.event_id, s.first_partition, s.first_offset
            from unnest(@topics, @ids, @partitions, @offsets) as r(topic, event_id, partition, "offset")
            join ingest_seen_events s on s.topic = r.topic and s.event_id = r.event_id
             and s.first_partition = r.partition and s.first_offset = r."offset"
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]>("topics", [.. records.Select(r => r.Topic)]));
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", [.. records.Select(r => r.EventId)]));
        command.Parameters.Add(new NpgsqlParameter<int[]>("partitions", [.. records.Select(r => r.Partition)]));
        command.Parameters.Add(new NpgsqlParameter<long[]>("offsets", [.. records.Select(r => r.Offset)]));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            holders.Add((reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3)));
        }

        return holders;
    }

    /// <summary>
    /// Records where each input partition now stands (its next offset in <c>consumer_offsets</c>, behind the fence of
    /// <paramref name="epochs"/>) with the output end offsets known then, in <paramref name="fenced"/>: a transaction that
    /// passed the fence for these partitions, committed by the caller.
    /// </summary>
    public static void SaveCheckpoints(FencedTransaction fenced, IReadOnlyList<IngestCheckpoint> checkpoints,
        IReadOnlyDictionary<(string Topic, int Partition), long> epochs, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(fenced);
        ArgumentNullException.ThrowIfNull(checkpoints);
        if (checkpoints.Count == 0)
        {
            return;
        }

        using var batch = new NpgsqlBatch(fenced.Connection, fenced.Transaction);
        batch.BatchCommands.Add(ConsumerOffsets.Save(IngestWorker.Consumer, [.. checkpoints.Select(c => (c.Topic, c.Partition, c.NextOffset))], epochs, now));
        // Partitions that share one set of marks (all but those the recovery scan holds back) share one document: it is
        // serialized and parsed once, not once per partition.
        var documents = new Dictionary<IReadOnlyDictionary<string, long>, int>(ReferenceEqualityComparer.Instance);
        var texts = new List<string>();
        var indexes = new int[checkpoints.Count];
        for (var i = 0; i < checkpoints.Count; i++)
        {
            if (!documents.TryGetValue(checkpoints[i].OutputMarks, out var index))
            {
                index = documents[checkpoints[i].OutputMarks] = texts.Count + 1;
                texts.Add(JsonSerializer.Serialize(checkpoints[i].OutputMarks, IngestStateJson.Default.IReadOnlyDictionaryStringInt64));
            }

            indexes[i] = index;
        }

        var marks = new NpgsqlBatchCommand("""
            with d (marks, n) as materialized (select m::json, n from unnest(@marks) with ordinality as u(m, n))
            insert into ingest_output_marks (topic, partition, output_marks, updated_at)
            select c.topic, c.partition, d.marks, @now
            from unnest(@topics, @partitions, @documents) as c(topic, partition, document)
            join d on d.n = c.document
            on conflict (topic, partition) do update set output_marks = excluded.output_marks, updated_at = excluded.updated_at
            """);
        marks.Parameters.Add(new NpgsqlParameter<string[]>("topics", checkpoints.Select(c => c.Topic).ToArray()));
        marks.Parameters.Add(new NpgsqlParameter<int[]>("partitions", checkpoints.Select(c => c.Partition).ToArray()));
        marks.Parameters.Add(new NpgsqlParameter<int[]>("documents", indexes));
        marks.Parameters.Add(new NpgsqlParameter<string[]>("marks", [.. texts]));
        marks.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
        batch.BatchCommands.Add(marks);
        PartitionEpochs.Run(batch.ExecuteNonQuery);
    }

    /// <summary>
    /// Forgets at most <paramref name="limit"/> event ids that ingest last saw before <paramref name="olderThan"/>;
    /// returns how many. Bounded so that a window's worth of ids (a first start after a long stop) is removed a chunk at
    /// a time between batches, each chunk within <paramref name="timeout"/>, instead of in one statement of any length.
    /// </summary>
    public async Task<int> ExpireSeenAsync(DateTimeOffset olderThan, int limit, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            delete from ingest_seen_events
            where ctid = any(array(select ctid from ingest_seen_events where seen_at < @older_than limit @limit))
            """);
        command.CommandTimeout = (int)Math.Ceiling(timeout.TotalSeconds);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("older_than", olderThan));
        command.Parameters.Add(new NpgsqlParameter<int>("limit", limit));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, long>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyDictionary<string, long>))]
internal sealed partial class IngestStateJson : System.Text.Json.Serialization.JsonSerializerContext;
