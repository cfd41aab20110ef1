using Npgsql;
using NpgsqlTypes;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Profiles.Lineage;
using Streams.Profiles.Processing;
using static Streams.Profiles.Store.ProfileRepository;

namespace Streams.Profiles.Store;

/// <summary>
/// The SQL of merge lineage (CONTRACT §5.4): merges as they happened, the events re-deriving a profile needs, and the
/// operator's blocks. Statements join the transaction of the batch or of the split that makes them.
/// </summary>
internal static class LineageStore
{
    /// <summary>
    /// The events of a batch as used, in the order applied: binary COPY assigns seq in the order of its rows. A batch's
    /// largest row set (one row per event, each with the event's JSON), written without unnest's arrays.
    /// </summary>
    public static void CopyEvents(NpgsqlConnection connection, IReadOnlyList<LineageEvent> events, DateTimeOffset keptUntil)
    {
        // Serialized before the COPY starts, so the statement does not hold its backend while the worker serializes. The
        // UTF-8 bytes go as they are (a json value travels as its text): decoding each event into a string only for Npgsql
        // to encode it back made a UTF-16 copy of every event, about 80 MB of garbage per 60,000 events (profiles-load,
        // benchmarks/README.md).
        var json = new byte[events.Count][];
        for (var i = 0; i < json.Length; i++)
        {
            json[i] = CanonicalJson.Serialize(events[i].Event);
        }

        using var writer = connection.BeginBinaryImport(
            "copy lineage_events (profile_id, canonical_topic, canonical_partition, canonical_offset, event, kept_until) from stdin (format binary)");
        for (var i = 0; i < json.Length; i++)
        {
            var e = events[i];
            writer.StartRow();
            writer.Write(e.ProfileId, NpgsqlDbType.Text);
            writer.Write(e.Canonical.Topic, NpgsqlDbType.Text);
            writer.Write(e.Canonical.Partition, NpgsqlDbType.Integer);
            writer.Write(e.Canonical.Offset, NpgsqlDbType.Bigint);
            writer.Write(json[i], NpgsqlDbType.Json);
            writer.Write(keptUntil, NpgsqlDbType.TimestampTz);
        }

        writer.Complete();
    }

    /// <summary>
    /// A batch's merges as they happened, by binary COPY: a plain insert (a merge id derives from the bridging record's
    /// position, which a committed batch never applies again), without unnest over thirteen arrays and the
    /// pseudonym lists joined into strings and split again.
    /// </summary>
    public static void CopyMerges(NpgsqlConnection connection, IReadOnlyList<MergeLineage> merges)
    {
        using var writer = connection.BeginBinaryImport("""
            copy merge_lineage (merge_id, absorbed, survivor, merged_at, event_id, canonical_topic, canonical_partition, canonical_offset,
                source_topic, source_partition, source_offset, identifiers, bridge) from stdin (format binary)
            """);
        foreach (var m in merges)
        {
            writer.StartRow();
            writer.Write(m.MergeId, NpgsqlDbType.Text);
            writer.Write(m.Absorbed, NpgsqlDbType.Text);
            writer.Write(m.Survivor, NpgsqlDbType.Text);
            writer.Write(m.MergedAt, NpgsqlDbType.TimestampTz);
            // A canonical event_id may hold U+0000 (CanonicalRecordReader allows it on events), which text cannot store: the
            // merge would be refused and its bridging record quarantined.
            writer.Write(m.EventId.Replace('\0', '\uFFFD'), NpgsqlDbType.Text);
            writer.Write(m.Canonical.Topic, NpgsqlDbType.Text);
            writer.Write(m.Canonical.Partition, NpgsqlDbType.Integer);
            writer.Write(m.Canonical.Offset, NpgsqlDbType.Bigint);
            writer.Write(m.Source.Topic, NpgsqlDbType.Text);
            writer.Write(m.Source.Partition, NpgsqlDbType.Integer);
            writer.Write(m.Source.Offset, NpgsqlDbType.Bigint);
            writer.Write<string[]>([.. m.Evidence.Identifiers], NpgsqlDbType.Array | NpgsqlDbType.Text);
            writer.Write<string[]>([.. m.Evidence.Bridge], NpgsqlDbType.Array | NpgsqlDbType.Text);
        }

        writer.Complete();
    }

    /// <summary>Everything lineage holds about erased profiles and their pseudonyms; runs before their merges go.</summary>
    public static IEnumerable<NpgsqlBatchCommand> Erase(string[] erased, IReadOnlyList<string> droppedPseudonyms)
    {
        const string Component = "(select unnest(@ids) union select absorbed from profile_merges where survivor = any(@ids))";
        yield return Command($"delete from lineage_events where profile_id in {Component}", Array("ids", erased));
        yield return Command($"delete from merge_lineage where absorbed in {Component} or survivor in {Component}", Array("ids", erased));
        if (droppedPseudonyms.Count > 0)
        {
            yield return Command("delete from identity_blocks where pseudonym = any(@pseudonyms) or keep = any(@pseudonyms)",
                Array("pseudonyms", droppedPseudonyms));
        }
    }

    /// <summary>The <paramref name="limit"/> most recent merges, newest first.</summary>
    public static List<Lineage.MergeSummary> Recent(NpgsqlConnection connection, int limit)
    {
        using var command = new NpgsqlCommand(
            "select merge_id, absorbed, survivor, merged_at, event_id, unmerged_at from merge_lineage order by merged_at desc, merge_id limit @limit",
            connection);
        command.Parameters.Add(new NpgsqlParameter<int>("limit", Math.Clamp(limit, 1, 1000)));
        using var reader = command.ExecuteReader();
        var merges = new List<Lineage.MergeSummary>();
        while (reader.Read())
        {
            merges.Add(new Lineage.MergeSummary(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3),
                reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5)));
        }

        return merges;
    }

    /// <summary>A merge's lineage row, or null.</summary>
    public static RecordedMerge? LoadMerge(NpgsqlConnection connection, NpgsqlTransaction? transaction, string mergeId)
    {
        using var command = new NpgsqlCommand(
            "select absorbed, survivor, identifiers, bridge, unmerged_at is not null from merge_lineage where merge_id = @id",
            connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string>("id", mergeId));
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new RecordedMerge(mergeId, reader.GetString(0), reader.GetString(1),
                new Identity.MergeEvidence(reader.GetFieldValue<string[]>(2), reader.GetFieldValue<string[]>(3)), reader.GetBoolean(4))
            : null;
    }

    /// <summary>The profile <paramref name="id"/> lives on in now: itself, or the survivor it was merged into; null when gone.</summary>
    public static string? LiveProfile(NpgsqlConnection connection, NpgsqlTransaction? transaction, string id)
    {
        using var command = new NpgsqlCommand("""
            select profile_id from profiles where profile_id = @id
            union all
            select m.survivor from profile_merges m where m.absorbed = @id and not exists (select from profiles where profile_id = @id)
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string>("id", id));
        return command.ExecuteScalar() as string;
    }

    /// <summary>The pseudonyms a live profile lists (not locked).</summary>
    public static string[] PseudonymsOf(NpgsqlConnection connection, NpgsqlTransaction? transaction, string profileId)
    {
        using var command = new NpgsqlCommand("select pseudonyms from profiles where profile_id = @id", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string>("id", profileId));
        return command.ExecuteScalar() as string[] ?? [];
    }

    /// <summary>The retained events of <paramref name="profileId"/> and of every profile merged into it, in the order applied.</summary>
    public static List<RetainedEvent> LoadEvents(NpgsqlConnection connection, NpgsqlTransaction transaction, string profileId)
    {
        using var command = new NpgsqlCommand("""
            select seq, canonical_topic, canonical_partition, canonical_offset, event
            from lineage_events
            where profile_id = @id or profile_id in (select absorbed from profile_merges where survivor = @id)
            order by seq
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string>("id", profileId));
        var events = new List<RetainedEvent>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var e = CanonicalJson.DeserializeCanonicalEvent(reader.GetFieldValue<byte[]>(4))
                ?? throw new InvalidDataException($"Lineage event {reader.GetInt64(0)} is empty.");
            events.Add(new RetainedEvent(reader.GetInt64(0), new SourcePosition(reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3)), e));
        }

        return events;
    }

    /// <summary>
    /// Writes what a split changes beyond the profiles and links <see cref="Save"/> writes: the blocks, the component's merges
    /// as re-derived, each retained event's profile, and the merges no longer in force.
    /// </summary>
    public static IEnumerable<NpgsqlBatchCommand> SaveSplit(string profileId, Split split, IReadOnlyList<(string Pseudonym, string Keep)> blocks,
        string? mergeId, DateTimeOffset now)
    {
        if (blocks.Count > 0)
        {
            yield return Command("""
                insert into identity_blocks (pseudonym, keep, merge_id, blocked_at)
                select p, k, @merge_id, @now from unnest(@pseudonyms, @keeps) as u(p, k)
                on conflict do nothing
                """,
                Array("pseudonyms", blocks.Select(b => b.Pseudonym)),
                Array("keeps", blocks.Select(b => b.Keep)),
                new NpgsqlParameter<string?>("merge_id", mergeId),
                new NpgsqlParameter<DateTimeOffset>("now", now));
        }

        // Merges no longer in force: the component's recorded merges the re-derivation did not make again.
        yield return Command("""
            update merge_lineage set unmerged_at = @now
            where unmerged_at is null and merge_id <> all(@kept)
              and (absorbed = @id or absorbed in (select absorbed from profile_merges where survivor = @id))
            """,
            new NpgsqlParameter<string>("id", profileId),
            Array("kept", split.MergeIds),
            new NpgsqlParameter<DateTimeOffset>("now", now));
        yield return Command("delete from profile_merges where survivor = @id", new NpgsqlParameter<string>("id", profileId));
        if (split.Merges.Count > 0)
        {
            yield return Command("insert into profile_merges (absorbed, survivor, merged_at) select * from unnest(@absorbed, @survivors, @merged_at)",
                Array("absorbed", split.Merges.Select(m => m.Absorbed)),
                Array("survivors", split.Merges.Select(m => m.Survivor)),
                Times("merged_at", split.Merges.Select(m => m.MergedAt)));
        }

        yield return Command("update lineage_events l set profile_id = u.id from unnest(@seqs, @ids) as u(seq, id) where l.seq = u.seq",
            Array("seqs", split.Attribution.Select(a => a.Seq)),
            Array("ids", split.Attribution.Select(a => a.ProfileId)));
    }
}

/// <summary>A merge's lineage as recorded.</summary>
internal sealed record RecordedMerge(string MergeId, string Absorbed, string Survivor, Identity.MergeEvidence Evidence, bool Undone);
