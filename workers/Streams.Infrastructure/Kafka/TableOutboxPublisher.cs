using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Npgsql;
using Streams.Infrastructure.Telemetry;

namespace Streams.Infrastructure.Kafka;

/// <summary>
/// Publishes a transactional outbox table (<c>seq bigserial, topic text, key bytea, value bytea</c>) in order
/// through an idempotent producer, then deletes exactly the rows the broker acknowledged. The rows were written in the
/// same transaction as the change they announce, so nothing committed is lost.
/// <para>
/// Nothing is published twice either, though the process may die (or PostgreSQL go away) between the broker's
/// acknowledgement and the delete's commit. Each round first moves the table's read mark (a sequence,
/// <c>&lt;table&gt;_read_mark</c>, which a rollback does not undo) past the rows it read; a row found at or below the mark
/// was read by a round that did not finish, so it is looked for on the broker before it is sent: from the offsets every
/// finished round recorded (<c>outbox_marks</c>, in the delete's transaction, every few seconds) to the partitions' ends, a record whose
/// <see cref="Header"/> names the row and whose key and value are the row's own bytes. Those rows are deleted without being
/// sent, unless a row of the same key before them is not there: then they go again behind it. A record copied from the
/// topic cannot stand in for a row not yet sent, since no one outside knows its bytes.
/// A row whose sequence number was taken before a published row's but committed after it (two instances writing the
/// table) is below the mark as well, and is looked for, not found, then sent: a scan of what was written since the last
/// round.
/// </para>
/// <para>
/// Instances sharing the table publish one at a time (a transaction-scoped advisory lock per table): two publishers would
/// each send the rows they read, and a row sent twice can land after a newer record of its key, leaving a tombstone or an
/// old value as the key's last word. A row whose sequence number was taken before a row already published but committed
/// after it is not deleted with it (only the rows read are), so it is published on the next round instead of being lost.
/// </para>
/// </summary>
public sealed class TableOutboxPublisher : IDisposable
{
    /// <summary>The header naming the outbox row a record was published from: <c>&lt;table&gt;/&lt;seq&gt;</c>.</summary>
    public const string Header = "streams-outbox";

    private const int Chunk = 5000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MarkInterval = TimeSpan.FromSeconds(5);
    private readonly NpgsqlDataSource dataSource;
    private readonly string table;
    private readonly byte[] headerPrefix;
    private readonly string bootstrapServers;
    private readonly ILogger logger;
    private readonly IProducer<byte[]?, byte[]?> producer;
    // Topics that have a mark for every partition: a record sent there lands at or past it.
    private readonly HashSet<string> marked = new(StringComparer.Ordinal);
    private readonly Dictionary<TopicPartition, long> delivered = [];
    private readonly System.Diagnostics.Stopwatch sinceMarks = System.Diagnostics.Stopwatch.StartNew();
    private int failures;

    public TableOutboxPublisher(NpgsqlDataSource dataSource, string table, string bootstrapServers, string clientId, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        this.dataSource = dataSource;
        this.table = table;
        headerPrefix = Encoding.ASCII.GetBytes(table + "/");
        this.bootstrapServers = bootstrapServers;
        this.logger = logger;
        producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
            {
                BootstrapServers = bootstrapServers,
                EnableIdempotence = true,
                Acks = Acks.All,
                LingerMs = 5,
                ClientId = clientId,
                // Delivery reports only need the outcome and the position: not copying every key and value back saves a
                // copy per record.
                DeliveryReportFields = "status",
            })
            .SetLogHandler((_, m) => logger.LogDebug("producer: {Message}", m.Message))
            .Build();
    }

    /// <summary>Records published since start.</summary>
    public long Published { get; private set; }

    /// <summary>Rows of unfinished rounds found on the broker since start, and deleted without being sent again.</summary>
    public long FoundPublished { get; private set; }

    /// <summary>Publishes every row there is now, oldest first.</summary>
    public void PublishPending()
    {
        while (true)
        {
            using var connection = dataSource.OpenConnection();
            using var transaction = connection.BeginTransaction();
            var (rows, readBefore) = LockAndRead(connection, transaction);
            if (rows.Count > 0)
            {
                Mark(rows.Select(r => r.Topic));
                var unfinished = rows.Where(r => r.Seq <= readBefore).ToList();
                var found = unfinished.Count > 0 ? KeepingKeyOrder(unfinished, FindPublished(connection, transaction, unfinished)) : [];
                FoundPublished += found.Count;
                Send(rows.Where(r => !found.Contains(r.Seq)));
                using var finish = new NpgsqlBatch(connection, transaction);
                finish.BatchCommands.Add(DeleteCommand([.. rows.Select(r => r.Seq)]));
                // A mark only has to lie at or below where the next records land, so an old one stays right: moving the
                // marks now and then (not every round) only bounds how much a recovery reads.
                if (delivered.Count > 0 && sinceMarks.Elapsed >= MarkInterval)
                {
                    finish.BatchCommands.Add(MarksCommand(delivered));
                    sinceMarks.Restart();
                }

                finish.ExecuteNonQuery();
            }

            transaction.Commit();
            if (rows.Count < Chunk)
            {
                return;
            }
        }
    }

    // Deletes exactly the rows seqs: one batch's rows are usually consecutive (a range); a concurrent writer's can interleave.
    private NpgsqlBatchCommand DeleteCommand(long[] seqs)
    {
        var (min, max) = (seqs.Min(), seqs.Max());
        var command = new NpgsqlBatchCommand();
        if (max - min + 1 == seqs.Length)
        {
            command.CommandText = $"delete from {table} where seq between @min and @max";
            command.Parameters.Add(new NpgsqlParameter<long>("min", min));
            command.Parameters.Add(new NpgsqlParameter<long>("max", max));
        }
        else
        {
            command.CommandText = $"delete from {table} o using unnest(@seqs) as u(seq) where o.seq = u.seq";
            command.Parameters.Add(new NpgsqlParameter<long[]>("seqs", seqs));
        }

        return command;
    }

    // Where the next record of each partition will land at the earliest. Marks only move forward; a first mark keeps
    // one already there, which is where an earlier round's records ended.
    private NpgsqlBatchCommand MarksCommand(Dictionary<TopicPartition, long> next, bool first = false)
    {
        var command = new NpgsqlBatchCommand($"""
            insert into outbox_marks (outbox, topic, partition, next_offset)
            select @outbox, topic, partition, next_offset from unnest(@topics, @partitions, @offsets) as u(topic, partition, next_offset)
            on conflict (outbox, topic, partition) do {(first ? "nothing" : "update set next_offset = greatest(outbox_marks.next_offset, excluded.next_offset)")}
            """);
        command.Parameters.Add(new NpgsqlParameter<string>("outbox", table));
        command.Parameters.Add(new NpgsqlParameter<string[]>("topics", [.. next.Keys.Select(p => p.Topic)]));
        command.Parameters.Add(new NpgsqlParameter<int[]>("partitions", [.. next.Keys.Select(p => p.Partition.Value)]));
        command.Parameters.Add(new NpgsqlParameter<long[]>("offsets", [.. next.Values]));
        return command;
    }

    /// <summary>
    /// Takes the table's lock, then reads the oldest rows and the read mark as it was before this round, which is moved
    /// past them, all in one round trip: each statement sees what committed before it began, so the read sees every row
    /// a publisher that held the lock before deleted. The mark moves only forward, and a rollback leaves it moved. A row
    /// committed between the read and the move can be counted in with a higher number than those read: it is then
    /// looked for once, not found, and sent.
    /// </summary>
    private (List<(long Seq, string Topic, byte[]? Key, byte[]? Value, string? TraceParent)> Rows, long ReadBefore) LockAndRead(
        NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        var mark = $"(select case when is_called then last_value else 0 end from {table}_read_mark)";
        using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("select pg_advisory_xact_lock(hashtext(@table))") { Parameters = { new NpgsqlParameter<string>("table", table) } },
                new NpgsqlBatchCommand($"select {mark}"),
                new NpgsqlBatchCommand($"select seq, topic, key, value, traceparent from {table} order by seq limit {Chunk}"),
                new NpgsqlBatchCommand(
                    $"select setval('{table}_read_mark', max(seq)) from (select seq from {table} order by seq limit {Chunk}) r having max(seq) > {mark}"),
            },
        };
        using var reader = batch.ExecuteReader();
        reader.NextResult();
        reader.Read();
        var readBefore = reader.GetInt64(0);
        reader.NextResult();
        var rows = new List<(long, string, byte[]?, byte[]?, string?)>();
        while (reader.Read())
        {
            rows.Add((reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<byte[]>(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        return (rows, readBefore);
    }

    /// <summary>
    /// Gives every partition of <paramref name="topics"/> a mark before the first record goes there: its end now, which
    /// any record sent later lands at or past. Committed on its own, ahead of the send.
    /// </summary>
    private void Mark(IEnumerable<string> topics)
    {
        var unmarked = topics.Where(t => !marked.Contains(t)).Distinct(StringComparer.Ordinal).ToList();
        if (unmarked.Count == 0)
        {
            return;
        }

        using var consumer = new ConsumerBuilder<Ignore, Ignore>(ScanConfig()).Build();
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var ends = new Dictionary<TopicPartition, long>();
        foreach (var topic in unmarked)
        {
            // The topic's own metadata: a cluster's whole metadata names every topic it holds, thousands on a shared one.
            var found = admin.GetMetadata(topic, Patience).Topics.FirstOrDefault(t => t.Topic == topic);
            if (found is null || found.Error.IsError || found.Partitions.Count == 0)
            {
                throw new KafkaException(new Error(found?.Error.Code ?? ErrorCode.UnknownTopicOrPart,
                    $"{table} has rows for topic {topic}, whose partitions the broker does not name: {found?.Error.Reason}"));
            }

            foreach (var partition in found.Partitions)
            {
                var tp = new TopicPartition(topic, partition.PartitionId);
                ends[tp] = consumer.QueryWatermarkOffsets(tp, Patience).High.Value;
            }
        }

        using (var connection = dataSource.OpenConnection())
        using (var insert = new NpgsqlBatch(connection) { BatchCommands = { MarksCommand(ends, first: true) } })
        {
            insert.ExecuteNonQuery();
        }

        marked.UnionWith(unmarked);
    }

    /// <summary>
    /// The rows of <paramref name="unfinished"/> already on the broker: a record past its partition's mark that names the
    /// row in its <see cref="Header"/> and carries the row's key and value.
    /// </summary>
    private HashSet<long> FindPublished(NpgsqlConnection connection, NpgsqlTransaction transaction,
        List<(long Seq, string Topic, byte[]? Key, byte[]? Value, string? TraceParent)> unfinished)
    {
        var bySeq = unfinished.ToDictionary(r => r.Seq);
        var topics = unfinished.Select(r => r.Topic).Distinct(StringComparer.Ordinal).ToArray();
        var from = new List<TopicPartitionOffset>();
        using (var command = new NpgsqlCommand(
                   "select topic, partition, next_offset from outbox_marks where outbox = @outbox and topic = any(@topics)", connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<string>("outbox", table));
            command.Parameters.Add(new NpgsqlParameter<string[]>("topics", topics));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                from.Add(new TopicPartitionOffset(reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2)));
            }
        }

        var found = new HashSet<long>();
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(ScanConfig()).Build();
        using (var admin = new DependentAdminClientBuilder(consumer.Handle).Build())
        {
            var partitions = topics.SelectMany(topic => admin.GetMetadata(topic, Patience).Topics)
                .Where(t => !t.Error.IsError && topics.Contains(t.Topic, StringComparer.Ordinal))
                .SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p.PartitionId)))
                .ToList();
            from = ScanStarts(from, partitions);
        }

        var read = PartitionScan.ReadToEnd(consumer, from, result =>
        {
            if (Names(result.Message.Headers) is { } seq && bySeq.TryGetValue(seq, out var row) && row.Topic == result.Topic
                && Same(row.Key, result.Message.Key) && Same(row.Value, result.Message.Value))
            {
                found.Add(seq);
            }
        }, Patience, $"Looking for {table}'s unfinished round");
        logger.LogInformation(
            "{Table}: {Unfinished} rows of an unfinished round, {Found} of them already on the broker; {Read} records read",
            table, unfinished.Count, found.Count, read);
        return found;

        static bool Same(byte[]? row, byte[]? record) => row is null ? record is null : record is not null && row.AsSpan().SequenceEqual(record);
    }

    /// <summary>
    /// Where a recovery reads: each marked partition from its mark, and from its beginning each partition of a marked topic
    /// that has no mark. Marks are set once per topic and session, so such a partition was added to the topic after that,
    /// and every record on it came later; without reading it, a row sent there would be sent twice. A topic with no mark
    /// at all is not read (its rows are sent again, as before marks existed).
    /// </summary>
    internal static List<TopicPartitionOffset> ScanStarts(IReadOnlyList<TopicPartitionOffset> marks, IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(marks);
        ArgumentNullException.ThrowIfNull(partitions);
        var starts = marks.ToList();
        var marked = marks.Select(m => m.TopicPartition).ToHashSet();
        var markedTopics = marks.Select(m => m.Topic).ToHashSet(StringComparer.Ordinal);
        foreach (var partition in partitions)
        {
            if (markedTopics.Contains(partition.Topic) && marked.Add(partition))
            {
                starts.Add(new TopicPartitionOffset(partition, Offset.Beginning));
            }
        }

        return starts;
    }

    /// <summary>
    /// The rows of <paramref name="found"/> that can stay unsent: those before every row of their key that the broker does
    /// not have. A later one is sent again behind the missing one, so that the key's last record stays its newest.
    /// </summary>
    private static HashSet<long> KeepingKeyOrder(
        List<(long Seq, string Topic, byte[]? Key, byte[]? Value, string? TraceParent)> unfinished, HashSet<long> found)
    {
        var missing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in unfinished.OrderBy(r => r.Seq))
        {
            var key = row.Key is null ? row.Topic : row.Topic + "/" + Convert.ToBase64String(row.Key);
            if (!found.Contains(row.Seq))
            {
                missing.Add(key);
            }
            else if (missing.Contains(key))
            {
                found.Remove(row.Seq);
            }
        }

        return found;
    }

    // The row a record's header names, when it names one of this table's.
    private long? Names(Headers? headers)
    {
        if (headers is null || !headers.TryGetLastBytes(Header, out var bytes) || bytes.Length > 300)
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(bytes);
        var slash = text.LastIndexOf('/');
        return slash > 0 && text.AsSpan(0, slash).SequenceEqual(table)
               && long.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            ? seq
            : null;
    }

    // Produces the rows in order, each naming its row and with the trace context it was written under, and waits until
    // the broker has every one; throws when any was not delivered.
    private void Send(IEnumerable<(long Seq, string Topic, byte[]? Key, byte[]? Value, string? TraceParent)> messages)
    {
        Volatile.Write(ref failures, 0);
        lock (delivered)
        {
            delivered.Clear();
        }

        var count = 0;
        foreach (var (seq, topic, key, value, traceParent) in messages)
        {
            var headers = new Headers { { Header, HeaderValue(seq) } };
            ProducerBackpressure.Produce(producer, topic,
                new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = RecordTracing.With(headers, traceParent) }, OnDelivery);
            count++;
        }

        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
        {
        }

        if (Volatile.Read(ref failures) > 0)
        {
            throw new KafkaException(new Error(ErrorCode.Local_Fail, $"{failures} records of {table} were not delivered"));
        }

        Published += count;
    }

    // <table>/<seq> in ASCII, without a string in between.
    private byte[] HeaderValue(long seq)
    {
        Span<byte> digits = stackalloc byte[20];
        System.Buffers.Text.Utf8Formatter.TryFormat(seq, digits, out var written);
        var value = new byte[headerPrefix.Length + written];
        headerPrefix.CopyTo(value, 0);
        digits[..written].CopyTo(value.AsSpan(headerPrefix.Length));
        return value;
    }

    private void OnDelivery(DeliveryReport<byte[]?, byte[]?> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref failures);
            logger.LogWarning("Publishing to {Topic} failed: {Reason}", report.Topic, report.Error.Reason);
            return;
        }

        lock (delivered)
        {
            delivered[report.TopicPartition] = Math.Max(delivered.GetValueOrDefault(report.TopicPartition), report.Offset.Value + 1);
        }
    }

    private ConsumerConfig ScanConfig() => new()
    {
        BootstrapServers = bootstrapServers,
        GroupId = "streams-outbox-scan",
        EnableAutoCommit = false,
        EnableAutoOffsetStore = false,
        EnablePartitionEof = true,
    };

    public void Dispose() => producer.Dispose();
}
