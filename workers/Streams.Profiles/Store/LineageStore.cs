using System.Buffers;
using System.Text.Json;
using System.Runtime.InteropServices;
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
    /// The events of a batch as used, one row per profile (lineage_event_groups, migration 0230): a customer's events mostly
    /// reach a batch together, and a row per event with its index entries was the batch's costliest statement
    /// (benchmarks/README.md, issue 17). The batch takes one value of lineage_events' sequence, so its rows sort after every
    /// earlier one, and each event keeps its place in the batch: <see cref="OrderKey"/> gives back the order applied.
    /// </summary>
    public static void CopyEvents(NpgsqlConnection connection, IReadOnlyList<LineageEvent> events, DateTimeOffset keptUntil,
        int maxGroupBytes = MaxGroupBytes, int maxBatchBytes = MaxBatchGroupBytes)
    {
        if (events.Count > MaxEventsPerBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(events), events.Count, $"A batch keeps at most {MaxEventsPerBatch} events.");
        }

        // Serialized before the COPY starts, so the statement does not hold its backend while the worker serializes. Every
        // group goes into one buffer, reused batch after batch, and each row is a slice of it: an array per event and another
        // per group were a fifth of the worker's garbage under load (benchmarks/README.md, issue 17).
        var groups = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < events.Count; i++)
        {
            if (!groups.TryGetValue(events[i].ProfileId, out var members))
            {
                groups[events[i].ProfileId] = members = [];
            }

            members.Add(i);
        }

        // One buffer for the process, not one per thread: saves run on pool threads, and a buffer of a few MiB grown on each
        // of them was a large-object allocation that brought a full collection into every run (measured). Another worker
        // saving meanwhile takes a buffer of its own.
        var buffer = Interlocked.Exchange(ref groupBuffer, null) ?? new ArrayBufferWriter<byte>(64 * 1024);
        buffer.ResetWrittenCount();
        try
        {
            using var group = new Utf8JsonWriter(buffer);
            var rows = new List<(string ProfileId, int Start, int Length)>(groups.Count);
            foreach (var (profileId, members) in groups)
            {
                var start = buffer.WrittenCount;
                group.Reset(buffer);
                group.WriteStartArray();
                foreach (var i in members)
                {
                    var e = events[i];
                    group.WriteStartObject();
                    group.WriteNumber("n", i);
                    group.WriteString("t", e.Canonical.Topic);
                    group.WriteNumber("p", e.Canonical.Partition);
                    group.WriteNumber("o", e.Canonical.Offset);
                    group.WritePropertyName("e");
                    CanonicalJson.Write(group, e.Event);
                    group.WriteEndObject();
                    // A profile whose events in this batch would make one value far larger than usual (canonical records of up to
                    // 1 MiB each, thousands of them for one profile: a value PostgreSQL refuses past 1 GB) keeps the batch's
                    // events a row each instead, as before migration 0230, which every reader still reads in the same order. So
                    // does a batch whose groups together would pass what one buffer holds.
                    var pending = group.BytesPending + buffer.WrittenCount;
                    if (pending - start > maxGroupBytes || pending > maxBatchBytes)
                    {
                        CopyEachEvent(connection, events, keptUntil);
                        return;
                    }
                }

                group.WriteEndArray();
                group.Flush();
                rows.Add((profileId, start, buffer.WrittenCount - start));
            }

            long batch;
            using (var next = new NpgsqlCommand("select nextval(pg_get_serial_sequence('lineage_events', 'seq'))", connection))
            {
                batch = (long)next.ExecuteScalar()!;
            }

            using var writer = connection.BeginBinaryImport("copy lineage_event_groups (profile_id, batch, kept_until, events_text) from stdin (format binary)");
            foreach (var (profileId, start, length) in rows)
            {
                writer.StartRow();
                writer.Write(profileId, NpgsqlDbType.Text);
                writer.Write(batch, NpgsqlDbType.Bigint);
                writer.Write(keptUntil, NpgsqlDbType.TimestampTz);
                writer.Write(buffer.WrittenMemory.Slice(start, length), NpgsqlDbType.Text);
            }

            writer.Complete();
        }
        finally
        {
            // A rare huge batch must not keep its buffer alive for good.
            if (buffer.Capacity <= KeptGroupBufferBytes)
            {
                Volatile.Write(ref groupBuffer, buffer);
            }
        }
    }

    /// <summary>The buffer of a batch's groups, between batches (see <see cref="CopyEvents"/>).</summary>
    private static ArrayBufferWriter<byte>? groupBuffer;

    /// <summary>Largest group buffer kept for the next batch (a batch of 5,000 events of the simulator's takes about 4 MiB).</summary>
    private const int KeptGroupBufferBytes = 16 * 1024 * 1024;

    /// <summary>Most bytes of all of a batch's groups together (one buffer holds them; see <see cref="CopyEvents"/>).</summary>
    public const int MaxBatchGroupBytes = 512 * 1024 * 1024;

    /// <summary>Most bytes of one profile's events in one row of lineage_event_groups (see <see cref="CopyEvents"/>).</summary>
    public const int MaxGroupBytes = 64 * 1024 * 1024;

    /// <summary>
    /// The batch's events a row each in lineage_events: binary COPY assigns seq in the order of its rows. Serialized again
    /// here (a rare path) rather than keeping every event's bytes beside its group's for the whole batch.
    /// </summary>
    private static void CopyEachEvent(NpgsqlConnection connection, IReadOnlyList<LineageEvent> events, DateTimeOffset keptUntil)
    {
        using var writer = connection.BeginBinaryImport(
            "copy lineage_events (profile_id, canonical_topic, canonical_partition, canonical_offset, event, kept_until) from stdin (format binary)");
        foreach (var e in events)
        {
            writer.StartRow();
            writer.Write(e.ProfileId, NpgsqlDbType.Text);
            writer.Write(e.Canonical.Topic, NpgsqlDbType.Text);
            writer.Write(e.Canonical.Partition, NpgsqlDbType.Integer);
            writer.Write(e.Canonical.Offset, NpgsqlDbType.Bigint);
            writer.Write(CanonicalJson.Serialize(e.Event), NpgsqlDbType.Json);
            writer.Write(keptUntil, NpgsqlDbType.TimestampTz);
        }

        writer.Complete();
    }

    /// <summary>Events a batch can keep: their places in the batch fit in the low bits of <see cref="OrderKey"/>.</summary>
    public const int MaxEventsPerBatch = 1 << OrderBits;

    private const int OrderBits = 20;

    /// <summary>
    /// A retained event's place in the order applied (<see cref="RetainedEvent.Seq"/>): its batch's sequence value, then its place
    /// in the batch. A row of lineage_events, written one per event before migration 0230, is its own batch.
    /// </summary>
    public static long OrderKey(long batch, int place) => (batch << OrderBits) | (uint)place;

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
        // The component as an array the index scans take: as `in (select … union …)` the planner hashed it and read the
        // whole lineage table for each erasure (80 ms a batch in pipeline-load, benchmarks/README.md, issue 17).
        const string Component = "array(select unnest(@ids) union select absorbed from profile_merges where survivor = any(@ids))";
        yield return Command($"delete from lineage_events where profile_id = any({Component})", Array("ids", erased));
        yield return Command($"delete from lineage_event_groups where profile_id = any({Component})", Array("ids", erased));
        yield return Command($"delete from merge_lineage where absorbed = any({Component}) or survivor = any({Component})", Array("ids", erased));
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

    /// <summary>
    /// The retained events of <paramref name="profileId"/> and of every profile merged into it, in the order applied; false,
    /// with none, when they hold more than <paramref name="maxBytes"/> bytes of events. Whatever the component holds, at
    /// most that many bytes are read into memory: a profile's lineage has no bound of its own (a device that sent events
    /// for a month), and a split runs inside the host that serves the stewards' console.
    /// </summary>
    public static bool TryLoadEvents(NpgsqlConnection connection, NpgsqlTransaction transaction, string profileId, long maxBytes,
        out List<RetainedEvent> events)
    {
        events = [];
        using (var size = new NpgsqlCommand($"""
            select coalesce((select sum(pg_column_size(event)) from lineage_events where profile_id = any({ComponentOf})), 0)
                 + coalesce((select sum(coalesce(pg_column_size(events_text), pg_column_size(events))) from lineage_event_groups where profile_id = any({ComponentOf})), 0)
            """, connection, transaction))
        {
            // As stored (a large group compressed): a lower bound of what reading them takes, which refuses a component far
            // over the bound before any of it is sent; the bytes read below are the exact check.
            size.Parameters.Add(new NpgsqlParameter<string>("id", profileId));
            if (Convert.ToInt64(size.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > maxBytes)
            {
                return false;
            }
        }

        using var command = new NpgsqlCommand($"""
            select seq, canonical_topic, canonical_partition, canonical_offset, event from lineage_events where profile_id = any({ComponentOf});
            select batch, coalesce(events_text, events::text) from lineage_event_groups where profile_id = any({ComponentOf})
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string>("id", profileId));
        // Handed out only when complete: a refusal leaves the caller none.
        var loaded = new List<RetainedEvent>();
        var read = 0L;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var bytes = reader.GetFieldValue<byte[]>(4);
            if ((read += bytes.Length) > maxBytes)
            {
                return false;
            }

            var e = CanonicalJson.DeserializeCanonicalEvent(bytes)
                ?? throw new InvalidDataException($"Lineage event {reader.GetInt64(0)} is empty.");
            loaded.Add(new RetainedEvent(OrderKey(reader.GetInt64(0), 0), new SourcePosition(reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3)), e));
        }

        reader.NextResult();
        while (reader.Read())
        {
            var batch = reader.GetInt64(0);
            var bytes = reader.GetFieldValue<byte[]>(1);
            if ((read += bytes.Length) > maxBytes)
            {
                return false;
            }

            using var group = JsonDocument.Parse(bytes);
            foreach (var element in group.RootElement.EnumerateArray())
            {
                var e = CanonicalJson.DeserializeCanonicalEvent(JsonMarshal.GetRawUtf8Value(element.GetProperty("e")))
                    ?? throw new InvalidDataException($"A lineage event of batch {batch} is empty.");
                var canonical = new SourcePosition(element.GetProperty("t").GetString()!, element.GetProperty("p").GetInt32(), element.GetProperty("o").GetInt64());
                loaded.Add(new RetainedEvent(OrderKey(batch, element.GetProperty("n").GetInt32()), canonical, e));
            }
        }

        loaded.Sort((a, b) => a.Seq.CompareTo(b.Seq));
        events = loaded;
        return true;
    }

    // A profile and every profile merged into it (@id), as an array the index scans take (see Erase).
    internal const string ComponentOf = "array(select @id union select absorbed from profile_merges where survivor = @id)";

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

        // Each retained event goes to the profile the re-derivation gave it: the component's rows (of both tables) are
        // written again as one row per profile and batch, each event keeping its place; an event the re-derivation did not
        // attribute stays where it was. Before profile_merges changes below, through which the component is found.
        yield return Command($"""
            with old as (
                delete from lineage_events l where l.profile_id = any({ComponentOf})
                returning l.seq as batch, 0 as place, l.profile_id, l.kept_until,
                    json_build_object('n', 0, 't', l.canonical_topic, 'p', l.canonical_partition, 'o', l.canonical_offset, 'e', l.event) as element
            ), grouped as (
                delete from lineage_event_groups g where g.profile_id = any({ComponentOf})
                returning g.batch, g.profile_id, g.kept_until, coalesce(g.events_text::json, g.events) as events
            ), retained as (
                select batch, place, profile_id, kept_until, element from old
                union all
                select g.batch, (e ->> 'n')::integer, g.profile_id, g.kept_until, e from grouped g, json_array_elements(g.events) e
            )
            insert into lineage_event_groups (profile_id, batch, kept_until, events_text)
            select coalesce(u.id, r.profile_id), r.batch, min(r.kept_until), json_agg(r.element order by r.place)::text
            from retained r left join unnest(@keys, @ids) as u(key, id) on u.key = (r.batch << {OrderBits}) | r.place
            group by 1, 2
            """,
            new NpgsqlParameter<string>("id", profileId),
            Array("keys", split.Attribution.Select(a => a.Seq)),
            Array("ids", split.Attribution.Select(a => a.ProfileId)));

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

    }
}

/// <summary>A merge's lineage as recorded.</summary>
internal sealed record RecordedMerge(string MergeId, string Absorbed, string Survivor, Identity.MergeEvidence Evidence, bool Undone);
