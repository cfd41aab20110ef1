using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Npgsql;
using Streams.Infrastructure.Telemetry;

namespace Streams.Infrastructure.Kafka;

/// <summary>
/// Publishes a transactional outbox table (<c>seq bigserial, topic text, key bytea, value bytea</c>) in order
/// through an idempotent producer, then deletes exactly the rows the broker acknowledged. The rows were written in the
/// same transaction as the change they announce, so nothing committed is lost; a crash before the delete publishes them
/// again, and consumers see a repeat, never a gap. A delete that fails while the process lives on (PostgreSQL restarting
/// between the broker's acknowledgement and the commit) repeats nothing: the rows the broker took whole are remembered
/// and the next round deletes them without sending them again.
/// <para>
/// Instances sharing the table publish one at a time (a transaction-scoped advisory lock per table): two publishers would
/// each send the rows they read, and a row sent twice can land after a newer record of its key, leaving a tombstone or an
/// old value as the key's last word. A row whose sequence number was taken before a row already published but committed
/// after it is not deleted with it (only the rows read are), so it is published on the next round instead of being lost.
/// </para>
/// </summary>
public sealed class TableOutboxPublisher : IDisposable
{
    private const int Chunk = 5000;
    private readonly NpgsqlDataSource dataSource;
    private readonly string table;
    private readonly ILogger logger;
    private readonly IProducer<byte[]?, byte[]?> producer;
    private readonly HashSet<long> delivered;
    private int failures;

    /// <param name="acknowledged">
    /// Where the rows acknowledged but not deleted are remembered; a worker passes the same one to each session's
    /// publisher, since a failed delete ends the session. Null: this publisher's own.
    /// </param>
    public TableOutboxPublisher(NpgsqlDataSource dataSource, string table, string bootstrapServers, string clientId, ILogger logger,
        AcknowledgedOutboxRows? acknowledged = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        delivered = (acknowledged ?? new AcknowledgedOutboxRows()).Seqs;
        this.dataSource = dataSource;
        this.table = table;
        this.logger = logger;
        producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
            {
                BootstrapServers = bootstrapServers,
                EnableIdempotence = true,
                Acks = Acks.All,
                LingerMs = 5,
                ClientId = clientId,
                // Delivery reports only need the outcome: not copying every key and value back saves a copy per record.
                DeliveryReportFields = "status",
            })
            .SetLogHandler((_, m) => logger.LogDebug("producer: {Message}", m.Message))
            .Build();
    }

    /// <summary>Records published since start.</summary>
    public long Published { get; private set; }

    /// <summary>Publishes every row there is now, oldest first.</summary>
    public void PublishPending()
    {
        while (true)
        {
            using var connection = dataSource.OpenConnection();
            using var transaction = connection.BeginTransaction();
            using (var exclusive = new NpgsqlCommand("select pg_advisory_xact_lock(hashtext(@table))", connection, transaction))
            {
                exclusive.Parameters.Add(new NpgsqlParameter<string>("table", table));
                exclusive.ExecuteNonQuery();
            }

            var rows = Read(connection, transaction);
            if (rows.Count > 0)
            {
                Send(rows.Where(r => !delivered.Contains(r.Seq)));
                delivered.UnionWith(rows.Select(r => r.Seq));
                using var delete = DeleteCommand([.. rows.Select(r => r.Seq)], connection, transaction);
                delete.ExecuteNonQuery();
            }

            transaction.Commit();
            if (rows.Count < Chunk)
            {
                // Every pending row was read: a remembered one not among them was deleted, here or by another instance.
                delivered.Clear();
                return;
            }

            delivered.ExceptWith(rows.Select(r => r.Seq));
        }
    }

    // Deletes exactly the rows seqs: one batch's rows are usually consecutive (a range); a concurrent writer's can interleave.
    private NpgsqlCommand DeleteCommand(long[] seqs, NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        var (min, max) = (seqs.Min(), seqs.Max());
        var command = new NpgsqlCommand { Connection = connection, Transaction = transaction };
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

    private List<(long Seq, string Topic, byte[]? Key, byte[]? Value, string? TraceParent)> Read(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        using var command = new NpgsqlCommand($"select seq, topic, key, value, traceparent from {table} order by seq limit {Chunk}", connection, transaction);
        using var reader = command.ExecuteReader();
        var rows = new List<(long, string, byte[]?, byte[]?, string?)>();
        while (reader.Read())
        {
            rows.Add((reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<byte[]>(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
        }

        return rows;
    }

    // Produces the rows in order, each with the trace context it was written under, and waits until the broker has every
    // one; throws when any was not delivered.
    private void Send(IEnumerable<(long Seq, string Topic, byte[]? Key, byte[]? Value, string? TraceParent)> messages)
    {
        Volatile.Write(ref failures, 0);
        var count = 0;
        foreach (var (_, topic, key, value, traceParent) in messages)
        {
            ProducerBackpressure.Produce(producer, topic,
                new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = RecordTracing.With(null, traceParent) }, OnDelivery);
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

    private void OnDelivery(DeliveryReport<byte[]?, byte[]?> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref failures);
            logger.LogWarning("Publishing to {Topic} failed: {Reason}", report.Topic, report.Error.Reason);
        }
    }

    public void Dispose() => producer.Dispose();
}

/// <summary>
/// Rows of an outbox round the broker acknowledged whole whose delete did not commit. Only whole rounds: after a partial
/// failure every row goes again, in order, so that a key's last record stays its newest one.
/// </summary>
public sealed class AcknowledgedOutboxRows
{
    internal HashSet<long> Seqs { get; } = [];
}
