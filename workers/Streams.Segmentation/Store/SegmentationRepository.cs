using Npgsql;
using NpgsqlTypes;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Postgres;
using Streams.Segmentation.Engine;

namespace Streams.Segmentation.Store;

/// <summary>The segmentation worker's SQL, all inside one mini-batch transaction.</summary>
public static class SegmentationRepository
{
    public const string Consumer = "segmentation";

    public const string OutboxTable = "segment_outbox";

    /// <summary>
    /// The stored rows of a mini-batch's profiles, without their assignment: the mini-batch assigns every row it keeps
    /// again and deletes the others, so the stored explanation (~1 KiB a row) would only be read to be replaced. A row
    /// saved with no assignment keeps the stored one (<see cref="Save"/>).
    /// </summary>
    public static Dictionary<string, MemberRow> LoadRows(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyCollection<string> ids) =>
        Rows(connection, transaction, "null", "where profile_id = any(@ids)", new NpgsqlParameter<string[]>("ids", ids.ToArray()))
            .ToDictionary(r => r.ProfileId, StringComparer.Ordinal);

    /// <summary>
    /// At most <paramref name="limit"/> rows not assigned by model <paramref name="version"/> (stored before the first seed,
    /// or assigned by an older model), in a fixed order: one chunk of the re-assignment after a re-seed (the checkpoint's
    /// lock keeps other instances out meanwhile). The index
    /// on (coalesce(model_version, 0), profile_id) serves it without reading the rows already done. Without their
    /// assignment: each is assigned again (a new version) or deleted.
    /// </summary>
    public static List<MemberRow> LoadStale(NpgsqlConnection connection, NpgsqlTransaction transaction, long version, int limit) =>
        Rows(connection, transaction, "null", "where coalesce(model_version, 0) < @version order by coalesce(model_version, 0), profile_id limit @limit",
            new NpgsqlParameter<long>("version", version), new NpgsqlParameter<int>("limit", limit));

    /// <summary>Every statement of <paramref name="transaction"/> from here on is cancelled after <paramref name="timeout"/>.</summary>
    public static void LimitStatements(NpgsqlConnection connection, NpgsqlTransaction transaction, TimeSpan timeout)
    {
        using var command = new NpgsqlCommand(
            $"set local statement_timeout = {(long)timeout.TotalMilliseconds}", connection, transaction);
        command.ExecuteNonQuery();
    }

    /// <summary>Members not published yet of segments that may now be large enough.</summary>
    public static List<MemberRow> LoadWaiting(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyCollection<int> segments, long version) =>
        Rows(connection, transaction, Assignment, "where segment_id = any(@segments) and model_version = @version and not published",
            new NpgsqlParameter<int[]>("segments", segments.ToArray()), new NpgsqlParameter<long>("version", version));

    /// <summary>Members per segment of the given model version.</summary>
    public static Dictionary<int, long> Sizes(NpgsqlConnection connection, NpgsqlTransaction transaction, long version)
    {
        using var command = new NpgsqlCommand(
            "select segment_id, count(*) from segment_assignments where model_version = @version and segment_id is not null group by segment_id",
            connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<long>("version", version));
        using var reader = command.ExecuteReader();
        var sizes = new Dictionary<int, long>();
        while (reader.Read())
        {
            sizes[reader.GetInt32(0)] = reader.GetInt64(1);
        }

        return sizes;
    }

    /// <summary>
    /// Stores a mini-batch in one round trip: the checkpoint (<see cref="SegmentationCheckpointStore.Write"/>), the
    /// assignments, the outbox and the consumed offsets, fenced with <paramref name="epochs"/>.
    /// </summary>
    public static void Save(NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<NpgsqlBatchCommand> checkpoint, MiniBatchChanges changes,
        IReadOnlyList<(string Topic, int Partition, long NextOffset)> offsets, IReadOnlyDictionary<(string Topic, int Partition), long> epochs,
        DateTimeOffset now)
    {
        using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var command in checkpoint)
        {
            batch.BatchCommands.Add(command);
        }

        if (changes.Deletes.Count > 0)
        {
            batch.BatchCommands.Add(Command("delete from segment_assignments where profile_id = any(@ids)",
                new NpgsqlParameter<string[]>("ids", changes.Deletes.Distinct().ToArray())));
        }

        var upserts = changes.Upserts.DistinctBy(r => r.ProfileId).ToList();
        if (upserts.Count > 0)
        {
            // Raw vectors travel as one flat array and are cut back into rows in SQL: one statement for the batch.
            var d = upserts[0].Raw.Length;
            batch.BatchCommands.Add(Command("""
                insert into segment_assignments (profile_id, raw, segment_id, model_version, published, assignment, assigned_at)
                select u.id, @raw[(u.n - 1) * @d + 1 : u.n * @d], u.segment, u.version, u.published, u.assignment::json, @now
                from unnest(@ids, @segments, @versions, @published, @assignments) with ordinality
                     as u(id, segment, version, published, assignment, n)
                on conflict (profile_id) do update set raw = excluded.raw, segment_id = excluded.segment_id,
                    model_version = excluded.model_version, published = excluded.published,
                    assignment = coalesce(excluded.assignment, segment_assignments.assignment),
                    assigned_at = case when excluded.assignment is null then segment_assignments.assigned_at else excluded.assigned_at end
                """,
                new NpgsqlParameter<double[]>("raw", upserts.SelectMany(r => r.Raw).ToArray()),
                new NpgsqlParameter<int>("d", d),
                new NpgsqlParameter<string[]>("ids", upserts.Select(r => r.ProfileId).ToArray()),
                new NpgsqlParameter("segments", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = upserts.Select(r => (object?)r.SegmentId ?? DBNull.Value).ToArray() },
                new NpgsqlParameter("versions", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = upserts.Select(r => (object?)r.ModelVersion ?? DBNull.Value).ToArray() },
                new NpgsqlParameter<bool[]>("published", upserts.Select(r => r.Published).ToArray()),
                new NpgsqlParameter("assignments", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = upserts.Select(r => (object?)r.Assignment ?? DBNull.Value).ToArray() },
                new NpgsqlParameter<DateTimeOffset>("now", now)));
        }

        if (changes.Outbox.Count > 0)
        {
            batch.BatchCommands.Add(TableOutboxRows.Insert(OutboxTable, [.. changes.Outbox.Select(m => (m.Topic, (byte[]?)m.Key, m.Value))]));
        }

        if (offsets.Count > 0)
        {
            batch.BatchCommands.Add(ConsumerOffsets.Save(Consumer, offsets, epochs, now));
        }

        PartitionEpochs.Run(batch.ExecuteNonQuery);
    }

    private const string Assignment = "assignment::text";

    private static List<MemberRow> Rows(NpgsqlConnection connection, NpgsqlTransaction transaction, string assignment, string where,
        params NpgsqlParameter[] parameters)
    {
        using var command = new NpgsqlCommand(
            $"select profile_id, raw, segment_id, model_version, published, {assignment} from segment_assignments {where}",
            connection, transaction);
        command.Parameters.AddRange(parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<MemberRow>();
        while (reader.Read())
        {
            rows.Add(new MemberRow
            {
                ProfileId = reader.GetString(0),
                Raw = reader.GetFieldValue<double[]>(1),
                SegmentId = reader.IsDBNull(2) ? null : reader.GetInt32(2),
                ModelVersion = reader.IsDBNull(3) ? null : reader.GetInt64(3),
                Published = reader.GetBoolean(4),
                Assignment = reader.IsDBNull(5) ? null : reader.GetString(5),
            });
        }

        return rows;
    }

    internal static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }
}
