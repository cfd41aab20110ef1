using Npgsql;
using NpgsqlTypes;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Postgres;

namespace Streams.Activation.Store;

/// <summary>One list's counts in one batch, added to its audit row.</summary>
public sealed record AuditCounts(string ListId, string RequestedBy, long Rows, long Matched, long Refused);

/// <summary>The activation worker's SQL: a batch's answers, audit and consumed offsets, in the caller's transaction.</summary>
public static class ActivationRepository
{
    public const string Consumer = "activation";

    public const string OutboxTable = "activation_outbox";

    /// <summary>
    /// Writes the batch's outbox rows, adds its counts to the audit rows and stores the offsets after it; returns each
    /// list's totals so far, for the progress log.
    /// </summary>
    public static List<AuditCounts> Save(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyList<(string Topic, byte[] Key, byte[] Value)> outbox, IReadOnlyList<AuditCounts> audit,
        IReadOnlyList<(string Topic, int Partition, long NextOffset)> offsets, IReadOnlyDictionary<(string Topic, int Partition), long> epochs,
        DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(audit);
        using (var batch = new NpgsqlBatch(connection, transaction))
        {
            if (outbox.Count > 0)
            {
                batch.BatchCommands.Add(TableOutboxRows.Insert(OutboxTable, [.. outbox.Select(m => (m.Topic, (byte[]?)m.Key, (byte[]?)m.Value))]));
            }

            if (offsets.Count > 0)
            {
                batch.BatchCommands.Add(ConsumerOffsets.Save(Consumer, offsets, epochs, now));
            }

            if (batch.BatchCommands.Count > 0)
            {
                PartitionEpochs.Run(batch.ExecuteNonQuery);
            }
        }

        var totals = new List<AuditCounts>(audit.Count);
        if (audit.Count == 0)
        {
            return totals;
        }

        using var upsert = new NpgsqlCommand("""
            insert into activation_audit (list_id, requested_by, rows, matched, refused, first_requested_at, last_requested_at)
            select list_id, requested_by, rows, matched, refused, @now, @now
            from unnest(@lists, @requesters, @rows, @matched, @refused) as u(list_id, requested_by, rows, matched, refused)
            on conflict (list_id, requested_by) do update set rows = activation_audit.rows + excluded.rows,
                matched = activation_audit.matched + excluded.matched, refused = activation_audit.refused + excluded.refused,
                last_requested_at = excluded.last_requested_at
            returning list_id, requested_by, rows, matched, refused
            """, connection, transaction);
        upsert.Parameters.Add(new NpgsqlParameter<string[]>("lists", [.. audit.Select(a => a.ListId)]));
        upsert.Parameters.Add(new NpgsqlParameter<string[]>("requesters", [.. audit.Select(a => a.RequestedBy)]));
        upsert.Parameters.Add(new NpgsqlParameter<long[]>("rows", [.. audit.Select(a => a.Rows)]));
        upsert.Parameters.Add(new NpgsqlParameter<long[]>("matched", [.. audit.Select(a => a.Matched)]));
        upsert.Parameters.Add(new NpgsqlParameter<long[]>("refused", [.. audit.Select(a => a.Refused)]));
        upsert.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
        using var reader = upsert.ExecuteReader();
        while (reader.Read())
        {
            totals.Add(new AuditCounts(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)));
        }

        return totals;
    }
}
