using Npgsql;
using NpgsqlTypes;
using Streams.Infrastructure.Telemetry;

namespace Streams.Infrastructure.Kafka;

/// <summary>How a batch writes its records into a transactional outbox table that <see cref="TableOutboxPublisher"/> publishes.</summary>
public static class TableOutboxRows
{
    /// <summary>
    /// The statement that appends <paramref name="messages"/> to <paramref name="table"/> in their order (the sequence
    /// keeps it), each with the trace context of the batch writing them (<see cref="RecordTracing.CurrentTraceParent"/>).
    /// </summary>
    public static NpgsqlBatchCommand Insert(string table, IReadOnlyCollection<(string Topic, byte[]? Key, byte[]? Value)> messages)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        ArgumentNullException.ThrowIfNull(messages);
        var insert = new NpgsqlBatchCommand($"""
            insert into {table} (topic, key, value, traceparent)
            select topic, key, value, @traceparent from unnest(@topics, @keys, @values) with ordinality as u(topic, key, value, n) order by n
            """);
        insert.Parameters.Add(new NpgsqlParameter<string[]>("topics", [.. messages.Select(m => m.Topic)]));
        insert.Parameters.Add(new NpgsqlParameter<byte[]?[]>("keys", [.. messages.Select(m => m.Key)]) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        insert.Parameters.Add(new NpgsqlParameter<byte[]?[]>("values", [.. messages.Select(m => m.Value)]) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        insert.Parameters.Add(new NpgsqlParameter("traceparent", NpgsqlDbType.Text) { Value = (object?)RecordTracing.CurrentTraceParent() ?? DBNull.Value });
        return insert;
    }

    /// <summary>
    /// Appends <paramref name="messages"/> to <paramref name="table"/> in their order by binary COPY on
    /// <paramref name="connection"/>, in its open transaction: what <see cref="Insert"/> writes, without unnest's arrays,
    /// for a writer whose outbox is a large row set (a round trip of its own rather than a statement of a batch).
    /// </summary>
    public static void Copy(NpgsqlConnection connection, string table, IReadOnlyCollection<(string Topic, byte[]? Key, byte[]? Value)> messages)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        ArgumentNullException.ThrowIfNull(messages);
        var traceparent = RecordTracing.CurrentTraceParent();
        using var writer = connection.BeginBinaryImport($"copy {table} (topic, key, value, traceparent) from stdin (format binary)");
        foreach (var (topic, key, value) in messages)
        {
            writer.StartRow();
            writer.Write(topic, NpgsqlDbType.Text);
            WriteBytes(writer, key);
            WriteBytes(writer, value);
            if (traceparent is null)
            {
                writer.WriteNull();
            }
            else
            {
                writer.Write(traceparent, NpgsqlDbType.Text);
            }
        }

        writer.Complete();
    }

    private static void WriteBytes(NpgsqlBinaryImporter writer, byte[]? value)
    {
        if (value is null)
        {
            writer.WriteNull();
        }
        else
        {
            writer.Write(value, NpgsqlDbType.Bytea);
        }
    }
}
