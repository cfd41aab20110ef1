using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Streams.Infrastructure.Kafka;
using Streams.Contracts.Identifiers;
using Streams.Infrastructure.Postgres;
using Streams.Profiles.Features;
using Streams.Profiles.Identity;
using Streams.Profiles.Processing;

namespace Streams.Profiles.Store;

/// <summary>
/// The profiles worker's SQL: set-based statements over arrays (no round trip per event), all inside the batch's
/// transaction, which also holds the consumed offsets.
/// </summary>
public static class ProfileRepository
{
    public const string Consumer = "profiles";

    /// <summary>The transactional outbox of profile records and merges (see <c>TableOutboxPublisher</c>).</summary>
    public const string OutboxTable = "profile_outbox";

    /// <summary>
    /// Advisory locks on the pseudonyms in <c>@pseudonyms</c>, each once, in order (no lock cycles), with
    /// <paramref name="function"/> (<c>pg_advisory_xact_lock</c> for a batch, the session forms for a split). The
    /// two-key form in a namespace of their own: the single-key space also holds the outbox publishers' and
    /// segmentation's table locks (<c>hashtext</c> of a table name), and a pseudonym of the same 32-bit hash would
    /// otherwise wait for them, and they for it (PostgreSQL keeps the two key spaces apart).
    /// </summary>
    internal static string LockPseudonymsSql(string function) =>
        $"select count({function}({PseudonymLockNamespace}, h)) from (select distinct hashtext(p) as h from unnest(@pseudonyms) p order by 1) l";

    /// <summary>The first key of the pseudonym locks ("PSNM"), apart from the migrations' ("STRM").</summary>
    private const int PseudonymLockNamespace = 0x50534e4d;

    /// <summary>A batch's pseudonym locks, held to the end of its transaction: made once, not per batch.</summary>
    private static readonly string LockPseudonymsForTransactionSql = LockPseudonymsSql("pg_advisory_xact_lock");

    /// <summary>Locks and reads the profiles owning any of <c>@pseudonyms</c>, in profile-id order (see <see cref="Load"/>).</summary>
    internal const string LoadProfilesSql = """
        select p.profile_id, p.aggregate, p.personalization_allowed, p.version, p.pseudonyms
        from (select distinct i.profile_id
              from unnest(@pseudonyms) as u(pseudonym)
              cross join lateral (select i.profile_id from identifiers i where i.pseudonym = u.pseudonym offset 0) i
              order by 1) o
        cross join lateral (select * from profiles p where p.profile_id = o.profile_id offset 0) p
        order by p.profile_id
        for update of p
        """;

    /// <summary>The identity rows of <c>@pseudonyms</c> (the loaded profiles' lists), one primary-key lookup each.</summary>
    internal const string LoadLinksSql = """
        select i.pseudonym, i.type, i.profile_id, i.linked_at, i.alias_of, i.refusals, i.shared_at
        from unnest(@pseudonyms) as u(pseudonym) cross join lateral (select * from identifiers i where i.pseudonym = u.pseudonym offset 0) i
        """;

    /// <summary>
    /// The operator blocks of <c>@pseudonyms</c> (CONTRACT §5.4). Blocks are rare: the <c>exists</c> is evaluated once, so
    /// while there are none a batch pays no lookup per pseudonym.
    /// </summary>
    internal const string LoadBlocksSql = """
        select b.pseudonym, b.keep
        from unnest(@pseudonyms) as u(pseudonym)
        cross join lateral (select * from identity_blocks b where b.pseudonym = u.pseudonym offset 0) b
        where exists (select from identity_blocks)
        """;

    /// <summary>
    /// Loads and locks every profile owning one of <paramref name="pseudonyms"/>, with all their identifiers. Rows are
    /// locked in profile-id order, so two workers whose batches share profiles wait rather than deadlock.
    /// </summary>
    /// <remarks>Synchronous, like <see cref="Save"/>: the worker calls both from its own thread and waits for them,
    /// and the async path only moved each continuation to another thread.</remarks>
    /// <param name="connection">The batch's connection.</param>
    /// <param name="transaction">The batch's transaction.</param>
    /// <param name="pseudonyms">The pseudonyms whose profiles to load.</param>
    /// <param name="blockLookup">The pseudonyms whose operator blocks to load, when more than <paramref name="pseudonyms"/>:
    /// every pseudonym of the batch, those of profiles carried over from the batch before included (a block is
    /// about the event, not the profile).</param>
    public static ProfileState Load(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyCollection<string> pseudonyms,
        IReadOnlyCollection<string>? blockLookup = null)
    {
        ArgumentNullException.ThrowIfNull(pseudonyms);
        var state = new ProfileState();
        var blocked = (blockLookup ?? pseudonyms).ToArray();
        if (pseudonyms.Count == 0)
        {
            if (blocked.Length > 0)
            {
                using var blocks = new NpgsqlCommand(LoadBlocksSql, connection, transaction);
                blocks.Parameters.Add(new NpgsqlParameter<string[]>("pseudonyms", blocked));
                using var reader = blocks.ExecuteReader();
                ReadBlocks(reader, state);
            }

            return state;
        }

        // Pseudonyms first, in one sorted statement: two workers whose batches both carry a new pseudonym take turns
        // instead of both creating a profile for it. Profile rows after, also sorted: no lock cycles. Two statements
        // (each sees what committed before it started, so the profiles are read after the pseudonyms are held), one
        // round trip.
        // One index lookup per pseudonym and per profile (lateral subqueries with offset 0 are not flattened): given a
        // batch's thousands of pseudonyms, most of them new, the planner otherwise hashes them and scans both whole
        // tables, a cost that grows with every customer ever seen (measured: 99 ms against 10 ms a batch at 200,000
        // profiles, and the load run slowed down run after run).
        var all = pseudonyms.ToArray();
        using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Command(
            LockPseudonymsForTransactionSql,
            new NpgsqlParameter<string[]>("pseudonyms", all)));
        batch.BatchCommands.Add(Command(LoadProfilesSql, new NpgsqlParameter<string[]>("pseudonyms", all)));
        batch.BatchCommands.Add(Command(LoadBlocksSql, new NpgsqlParameter<string[]>("pseudonyms", blocked)));
        var profiles = new Dictionary<string, StoredProfile>(StringComparer.Ordinal);
        var listed = new List<string>();
        using (var reader = batch.ExecuteReader())
        {
            reader.NextResult();
            while (reader.Read())
            {
                var id = reader.GetString(0);
                // The stored UTF-8 text as it is (a json value travels as its text): no UTF-16 copy of every aggregate.
                var aggregate = JsonSerializer.Deserialize(reader.GetFieldValue<byte[]>(1), ProfileJsonContext.Default.ProfileAggregate)
                    ?? throw new InvalidDataException($"Profile {id} has no aggregate.");
                profiles[id] = new StoredProfile
                {
                    ProfileId = id,
                    Aggregate = aggregate,
                    PersonalizationAllowed = reader.GetBoolean(2),
                    Version = reader.GetInt64(3),
                };
                listed.AddRange(reader.GetFieldValue<string[]>(4));
            }

            reader.NextResult();
            ReadBlocks(reader, state);
        }

        if (profiles.Count == 0)
        {
            return state;
        }

        // Each profile lists its pseudonyms; their rows come by primary key (see migration 0202).
        using var links = new NpgsqlCommand(LoadLinksSql, connection, transaction);
        links.Parameters.Add(new NpgsqlParameter<string[]>("pseudonyms", [.. listed]));
        using (var reader = links.ExecuteReader())
        {
            while (reader.Read())
            {
                var (pseudonym, owner) = (reader.GetString(0), reader.GetString(2));
                if (!profiles.TryGetValue(owner, out var profile))
                {
                    throw new InvalidDataException($"Identifier {pseudonym} is listed by a loaded profile but linked to profile {owner}.");
                }

                profile.Identifiers[pseudonym] = (ParseType(reader.GetString(1)), reader.GetFieldValue<DateTimeOffset>(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4));
                var mark = new IdentifierMark(reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6));
                if (mark != default)
                {
                    profile.Marks[pseudonym] = mark;
                }
            }
        }

        foreach (var profile in profiles.Values)
        {
            state.Add(profile);
        }

        return state;
    }

    internal static void ReadBlocks(NpgsqlDataReader reader, ProfileState state)
    {
        while (reader.Read())
        {
            var pseudonym = reader.GetString(0);
            if (!state.Blocks.TryGetValue(pseudonym, out var keep))
            {
                state.Blocks[pseudonym] = keep = new HashSet<string>(StringComparer.Ordinal);
            }

            keep.Add(reader.GetString(1));
        }
    }

    /// <summary>
    /// Locks the profiles a batch carried over from the one before (in id order, like <see cref="Load"/>) and checks that
    /// each is committed at the version that batch wrote; throws <see cref="CarriedProfilesChangedException"/> otherwise.
    /// </summary>
    /// <remarks>
    /// Never waits (<c>nowait</c>: a held row is PostgreSQL error 55P03, a collision the worker re-runs). The holder may be
    /// a transaction whose owner waits, outside PostgreSQL, for this one to commit: another worker's next batch, loaded
    /// while its own previous batch waits for a row this batch holds, or this worker's own next batch, which loads a
    /// carried profile the batch did not change (a refused link). PostgreSQL cannot see such a cycle; a wait ended only
    /// at the command timeout (30 s) and restarted the session (seen with two workers in one group).
    /// </remarks>
    public static void LockCarried(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyDictionary<string, long> expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        if (expected.Count == 0)
        {
            return;
        }

        using var command = new NpgsqlCommand(
            "select profile_id, version from profiles where profile_id = any(@ids) order by profile_id for update nowait", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string[]>("ids", [.. expected.Keys]));
        var matching = 0;
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                if (expected.TryGetValue(reader.GetString(0), out var version) && version == reader.GetInt64(1))
                {
                    matching++;
                }
            }
        }

        if (matching != expected.Count)
        {
            throw new CarriedProfilesChangedException(expected.Count - matching);
        }
    }

    /// <summary>Writes a batch's changes, its outbox rows and the offsets it consumed up to.</summary>
    public static void Save(NpgsqlConnection connection, NpgsqlTransaction transaction, BatchChanges changes,
        IReadOnlyList<(string Topic, int Partition, long NextOffset)> offsets, IReadOnlyDictionary<(string Topic, int Partition), long> epochs,
        DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(changes);
        // The batch's large row sets (new links, lineage events and merges, new profiles; the outbox after the statements
        // below) go by binary COPY, each a round trip of its own, before the statements that may delete some of them again
        // (erasure).
        if (changes.NewLinks.Count > 0)
        {
            CopyNewLinks(connection, changes.NewLinks);
        }

        if (changes.Lineage.Count > 0 && changes.LineageKeptUntil is { } keptUntil)
        {
            LineageStore.CopyEvents(connection, changes.Lineage, keptUntil);
        }

        if (changes.MergeLineage.Count > 0)
        {
            LineageStore.CopyMerges(connection, changes.MergeLineage);
        }

        // Profiles this batch created by binary COPY too: most of a batch's profile rows under load (new customers). A plain
        // insert: an id derives from the record that created the profile (see NewProfileId), so none can be stored yet.
        var loaded = new List<StoredProfile>(changes.Upserts.Count);
        var created = new List<StoredProfile>();
        foreach (var profile in changes.Upserts)
        {
            (changes.Created.Contains(profile.ProfileId) ? created : loaded).Add(profile);
        }

        if (created.Count > 0)
        {
            CopyNewProfiles(connection, created, now);
        }

        using var batch = new NpgsqlBatch(connection, transaction);
        if (loaded.Count > 0)
        {
            var ids = new string[loaded.Count];
            var firstSeen = new DateTimeOffset[loaded.Count];
            var lastSeen = new DateTimeOffset[loaded.Count];
            var aggregates = new byte[loaded.Count][];
            var allowed = new bool[loaded.Count];
            var versions = new long[loaded.Count];
            // A row's pseudonyms travel as one space-separated string (a parameter cannot hold one array per row; the
            // worker takes only pseudonyms without spaces, see CanonicalRecordReader.WellFormed). Measured on 30,000 rows: the
            // split costs a sixth of a plain upsert, building the arrays from a pseudonym column by group-by four sixths.
            var pseudonyms = new string[loaded.Count];
            for (var i = 0; i < loaded.Count; i++)
            {
                var p = loaded[i];
                (ids[i], firstSeen[i], lastSeen[i], allowed[i], versions[i]) = (p.ProfileId, p.FirstSeen, p.LastSeen, p.PersonalizationAllowed, p.Version);
                aggregates[i] = AggregateJson(p);
                pseudonyms[i] = string.Join(' ', p.SortedPseudonyms());
            }

            // An upsert: a re-derivation (ProfileSplitter) writes profiles that may or may not have a row.
            batch.BatchCommands.Add(Command("""
                insert into profiles (profile_id, first_seen, last_seen, aggregate, personalization_allowed, version, updated_at, pseudonyms)
                select id, first_seen, last_seen, aggregate, allowed, version, @now, string_to_array(pseudonyms, ' ')
                from unnest(@ids, @first_seen, @last_seen, @aggregates, @allowed, @versions, @pseudonyms)
                     as u(id, first_seen, last_seen, aggregate, allowed, version, pseudonyms)
                on conflict (profile_id) do update set
                    first_seen = excluded.first_seen, last_seen = excluded.last_seen, aggregate = excluded.aggregate,
                    personalization_allowed = excluded.personalization_allowed, version = excluded.version,
                    updated_at = excluded.updated_at, pseudonyms = excluded.pseudonyms
                """,
                new NpgsqlParameter<string[]>("pseudonyms", pseudonyms),
                new NpgsqlParameter<string[]>("ids", ids),
                Times("first_seen", firstSeen),
                Times("last_seen", lastSeen),
                new NpgsqlParameter<byte[][]>("aggregates", aggregates) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Json },
                new NpgsqlParameter<bool[]>("allowed", allowed),
                new NpgsqlParameter<long[]>("versions", versions),
                new NpgsqlParameter<DateTimeOffset>("now", now)));
        }

        // Only the identity rows that changed are written: new links inserted, links that moved rewritten, links of
        // erased profiles deleted (every link of a loaded profile is loaded, see Load). A plain insert, so a pseudonym
        // another worker linked meanwhile is a unique violation and the batch is re-read, never silently taken over.
        if (changes.DroppedLinks.Count > 0)
        {
            batch.BatchCommands.Add(Command("delete from identifiers i using unnest(@pseudonyms) as u(pseudonym) where i.pseudonym = u.pseudonym",
                Array("pseudonyms", changes.DroppedLinks)));
        }

        if (changes.MovedLinks.Count > 0)
        {
            var (pseudonyms, types, ids, linkedAt, aliasOf) = Columns(changes.MovedLinks);
            batch.BatchCommands.Add(Command("""
                update identifiers i set type = u.type, profile_id = u.profile_id, linked_at = u.linked_at, alias_of = u.alias_of,
                    refusals = u.refusals, shared_at = u.shared_at
                from unnest(@pseudonyms, @types, @ids, @linked_at, @alias_of, @refusals, @shared_at)
                    as u(pseudonym, type, profile_id, linked_at, alias_of, refusals, shared_at)
                where i.pseudonym = u.pseudonym
                """,
                [
                    new NpgsqlParameter<string[]>("pseudonyms", pseudonyms),
                    new NpgsqlParameter<string[]>("types", types),
                    new NpgsqlParameter<string[]>("ids", ids),
                    Times("linked_at", linkedAt),
                    new NpgsqlParameter<string?[]>("alias_of", aliasOf),
                    .. MarkColumns(changes.MovedLinks),
                ]));
        }

        // Past their retention, also when Identity:LineageRetention has since been set to 0: an index range that is empty
        // almost every batch.
        batch.BatchCommands.Add(Command("delete from lineage_events where kept_until < @now", new NpgsqlParameter<DateTimeOffset>("now", now)));
        batch.BatchCommands.Add(Command("delete from lineage_event_groups where kept_until < @now", new NpgsqlParameter<DateTimeOffset>("now", now)));

        if (changes.Merges.Count > 0)
        {
            var survivors = FinalSurvivors(changes);
            // Earlier merges into a profile that is now absorbed point at the new survivor: survivors stay final. Only a
            // stored profile can be an earlier merge's survivor; chains within this batch are already resolved in survivors.
            var stored = Enumerable.Range(0, survivors.Length).Where(i => !changes.Created.Contains(changes.Merges[i].Absorbed)).ToList();
            if (stored.Count > 0)
            {
                batch.BatchCommands.Add(Command("""
                    update profile_merges m set survivor = u.survivor
                    from unnest(@absorbed, @survivors) as u(absorbed, survivor)
                    where m.survivor = u.absorbed
                    """,
                    Array("absorbed", stored.Select(i => changes.Merges[i].Absorbed)),
                    Array("survivors", stored.Select(i => survivors[i]))));
            }

            batch.BatchCommands.Add(Command("""
                insert into profile_merges (absorbed, survivor, merged_at)
                select * from unnest(@absorbed, @survivors, @merged_at)
                on conflict (absorbed) do update set survivor = excluded.survivor, merged_at = excluded.merged_at
                """,
                Array("absorbed", changes.Merges.Select(m => m.Absorbed)),
                new NpgsqlParameter<string[]>("survivors", survivors),
                Times("merged_at", changes.Merges.Select(m => m.MergedAt))));
        }

        if (changes.Erased.Count > 0)
        {
            var erased = changes.Erased.ToArray();
            // The erased profiles' lineage (events, merges, blocks) goes before their merges, through which it is found.
            foreach (var command in LineageStore.Erase(erased, changes.DroppedLinks))
            {
                batch.BatchCommands.Add(command);
            }

            batch.BatchCommands.Add(Command("delete from profile_merges where survivor = any(@ids) or absorbed = any(@ids)", Array("ids", erased)));
            batch.BatchCommands.Add(EraseFromOutbox(erased));
        }

        var deleted = changes.Deleted.Where(id => !changes.Created.Contains(id)).ToArray();
        if (deleted.Length > 0)
        {
            batch.BatchCommands.Add(Command("delete from profiles p using unnest(@ids) as u(id) where p.profile_id = u.id", new NpgsqlParameter<string[]>("ids", deleted)));
        }

        if (changes.Audits.Count > 0)
        {
            var audits = changes.Audits;
            batch.BatchCommands.Add(Command("""
                insert into consent_audit (event_id, action, identifier_type, outcome, identifiers_removed, events_erased, requested_at, processed_at)
                select *, @now from unnest(@event_ids, @actions, @types, @outcomes, @removed, @erased, @requested_at)
                """,
                Array("event_ids", audits.Select(a => a.EventId)),
                Array("actions", audits.Select(a => a.Action)),
                Array("types", audits.Select(a => a.IdentifierType)),
                Array("outcomes", audits.Select(a => a.Outcome)),
                Array("removed", audits.Select(a => a.IdentifiersRemoved)),
                Array("erased", audits.Select(a => a.EventsErased)),
                Times("requested_at", audits.Select(a => a.RequestedAt)),
                new NpgsqlParameter<DateTimeOffset>("now", now)));
        }

        if (offsets.Count > 0)
        {
            batch.BatchCommands.Add(ConsumerOffsets.Save(Consumer, offsets, epochs, now));
        }

        if (batch.BatchCommands.Count > 0)
        {
            PartitionEpochs.Run(batch.ExecuteNonQuery);
        }

        // After the statements above: an erasure deletes the erased profiles' unpublished outbox rows, not the ones
        // this batch writes for them.
        if (changes.Outbox.Count > 0)
        {
            TableOutboxRows.Copy(connection, OutboxTable, [.. changes.Outbox.Select(m => (m.Topic, m.Key, m.Value))]);
        }
    }

    /// <summary>
    /// New identity rows by binary COPY: a plain insert (a pseudonym another worker linked meanwhile is a unique
    /// violation and the batch is re-read, never silently taken over), without the per-row work of unnest over seven
    /// arrays. Measured with profiles-load, see benchmarks/README.md.
    /// </summary>
    private static void CopyNewLinks(NpgsqlConnection connection, List<(string Pseudonym, StoredLink Link)> links)
    {
        using var writer = connection.BeginBinaryImport(
            "copy identifiers (pseudonym, type, profile_id, linked_at, alias_of, refusals, shared_at) from stdin (format binary)");
        foreach (var (pseudonym, link) in links)
        {
            writer.StartRow();
            writer.Write(pseudonym, NpgsqlDbType.Text);
            writer.Write(IdentifierTypeNames.Name(link.Type), NpgsqlDbType.Text);
            writer.Write(link.ProfileId, NpgsqlDbType.Text);
            writer.Write(link.LinkedAt, NpgsqlDbType.TimestampTz);
            WriteNullable(writer, link.AliasOf, NpgsqlDbType.Text);
            writer.Write(link.Mark.Refusals, NpgsqlDbType.Integer);
            if (link.Mark.SharedAt is { } sharedAt)
            {
                writer.Write(sharedAt, NpgsqlDbType.TimestampTz);
            }
            else
            {
                writer.WriteNull();
            }
        }

        writer.Complete();
    }

    /// <summary>
    /// Profiles the batch created, by binary COPY. A plain insert: a row already holding the id is a unique violation,
    /// never an overwrite (the worker then quarantines the record, see <c>ProfilesWorker</c>'s collisions).
    /// </summary>
    private static void CopyNewProfiles(NpgsqlConnection connection, List<StoredProfile> profiles, DateTimeOffset now)
    {
        var aggregates = new byte[profiles.Count][];
        for (var i = 0; i < aggregates.Length; i++)
        {
            aggregates[i] = AggregateJson(profiles[i]);
        }

        using var writer = connection.BeginBinaryImport(
            "copy profiles (profile_id, first_seen, last_seen, aggregate, personalization_allowed, version, updated_at, pseudonyms) from stdin (format binary)");
        for (var i = 0; i < aggregates.Length; i++)
        {
            var p = profiles[i];
            writer.StartRow();
            writer.Write(p.ProfileId, NpgsqlDbType.Text);
            writer.Write(p.FirstSeen, NpgsqlDbType.TimestampTz);
            writer.Write(p.LastSeen, NpgsqlDbType.TimestampTz);
            writer.Write(aggregates[i], NpgsqlDbType.Json);
            writer.Write(p.PersonalizationAllowed, NpgsqlDbType.Boolean);
            writer.Write(p.Version, NpgsqlDbType.Bigint);
            writer.Write(now, NpgsqlDbType.TimestampTz);
            writer.Write(p.SortedPseudonyms(), NpgsqlDbType.Array | NpgsqlDbType.Text);
        }

        writer.Complete();
    }

    /// <summary>
    /// A profile's aggregate as the UTF-8 JSON to store. A json value travels as its text, so the bytes go as they are:
    /// serializing into a string first made a UTF-16 copy of every aggregate only for Npgsql to encode it back.
    /// </summary>
    private static byte[] AggregateJson(StoredProfile profile) =>
        JsonSerializer.SerializeToUtf8Bytes(profile.Aggregate, ProfileJsonContext.Default.ProfileAggregate);

    private static void WriteNullable(NpgsqlBinaryImporter writer, string? value, NpgsqlDbType type)
    {
        if (value is null)
        {
            writer.WriteNull();
        }
        else
        {
            writer.Write(value, type);
        }
    }

    private static NpgsqlParameter[] MarkColumns(List<(string Pseudonym, StoredLink Link)> links) =>
    [
        new NpgsqlParameter<int[]>("refusals", [.. links.Select(l => l.Link.Mark.Refusals)]),
        new NpgsqlParameter<DateTimeOffset?[]>("shared_at", [.. links.Select(l => l.Link.Mark.SharedAt)]) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz },
    ];

    private static (string[] Pseudonyms, string[] Types, string[] Ids, DateTimeOffset[] LinkedAt, string?[] AliasOf) Columns(
        List<(string Pseudonym, StoredLink Link)> links)
    {
        var (pseudonyms, types, ids, linkedAt) = (new string[links.Count], new string[links.Count], new string[links.Count], new DateTimeOffset[links.Count]);
        var aliasOf = new string?[links.Count];
        for (var i = 0; i < links.Count; i++)
        {
            var (pseudonym, link) = links[i];
            (pseudonyms[i], types[i], ids[i], linkedAt[i], aliasOf[i]) =
                (pseudonym, IdentifierTypeNames.Name(link.Type), link.ProfileId, link.LinkedAt, link.AliasOf);
        }

        return (pseudonyms, types, ids, linkedAt, aliasOf);
    }

    /// <summary>Each merge's survivor at the end of the batch: a survivor absorbed later in the same batch hands its
    /// absorbed profiles on. Same order as <see cref="BatchChanges.Merges"/>.</summary>
    private static string[] FinalSurvivors(BatchChanges changes)
    {
        var into = new Dictionary<string, string>(changes.Merges.Count, StringComparer.Ordinal);
        foreach (var merge in changes.Merges)
        {
            into[merge.Absorbed] = merge.Survivor;
        }

        var survivors = new string[changes.Merges.Count];
        for (var i = 0; i < survivors.Length; i++)
        {
            var survivor = changes.Merges[i].Survivor;
            // A profile is absorbed once per batch, so the chain ends; the guard only bounds a broken one.
            for (var guard = 0; guard < survivors.Length && into.TryGetValue(survivor, out var next); guard++)
            {
                survivor = next;
            }

            survivors[i] = survivor;
        }

        return survivors;
    }

    private static IdentifierType ParseType(string type) =>
        IdentifierTypeNames.TryParse(type, out var parsed) ? parsed : throw new InvalidDataException($"Unknown identifier type '{type}'.");

    /// <summary>The erased profiles' records still waiting in the outbox, found by their key (its index, migration 0260).</summary>
    internal static NpgsqlBatchCommand EraseFromOutbox(IEnumerable<string> profileIds) =>
        Command("delete from profile_outbox where key = any(@keys)", Array("keys", profileIds.Select(ProfileBatchProcessor.Key)));

    internal static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    internal static NpgsqlParameter<T[]> Array<T>(string name, IEnumerable<T> values) => new(name, values.ToArray());

    internal static NpgsqlParameter Times(string name, IEnumerable<DateTimeOffset> values) =>
        new NpgsqlParameter<DateTimeOffset[]>(name, values.ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz };
}

/// <summary>Profiles a batch carried over from the batch before were changed by another worker after that batch committed.</summary>
public sealed class CarriedProfilesChangedException(int changed)
    : Exception($"{changed} profiles carried over from the previous batch were changed by another worker meanwhile");
