using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles.Features;
using Streams.Profiles.Processing;

namespace Streams.Profiles.Store;

/// <summary>
/// The profiles worker's SQL: set-based statements over arrays (no round trip per event), all inside the batch's
/// transaction, which also holds the consumed offsets.
/// </summary>
public sealed class ProfileRepository(NpgsqlDataSource dataSource)
{
    public const string Consumer = "profiles";

    public NpgsqlDataSource DataSource => dataSource;

    /// <summary>
    /// Loads and locks every profile owning one of <paramref name="pseudonyms"/>, with all their identifiers. Rows are
    /// locked in profile-id order, so two workers whose batches share profiles wait rather than deadlock.
    /// </summary>
    public static async Task<ProfileState> LoadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyCollection<string> pseudonyms, CancellationToken cancellationToken)
    {
        var state = new ProfileState();
        if (pseudonyms.Count == 0)
        {
            return state;
        }

        // Pseudonyms first, in one sorted statement: two workers whose batches both carry a new pseudonym take turns
        // instead of both creating a profile for it. Profile rows after, also sorted: no lock cycles.
        await using (var serialize = new NpgsqlCommand(
            "select count(pg_advisory_xact_lock(h)) from (select distinct hashtext(p) as h from unnest(@pseudonyms) p order by 1) l",
            connection, transaction))
        {
            serialize.Parameters.Add(new NpgsqlParameter<string[]>("pseudonyms", pseudonyms.ToArray()));
            await serialize.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var command = new NpgsqlCommand("""
            select p.profile_id, p.aggregate::text, p.personalization_allowed, p.version
            from profiles p
            where p.profile_id in (select i.profile_id from identifiers i where i.pseudonym = any(@pseudonyms))
            order by p.profile_id
            for update of p
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string[]>("pseudonyms", pseudonyms.ToArray()));
        var profiles = new Dictionary<string, StoredProfile>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var aggregate = JsonSerializer.Deserialize(reader.GetString(1), ProfileJsonContext.Default.ProfileAggregate)
                    ?? throw new InvalidDataException($"Profile {reader.GetString(0)} has no aggregate.");
                profiles[reader.GetString(0)] = new StoredProfile
                {
                    ProfileId = reader.GetString(0),
                    Aggregate = aggregate,
                    PersonalizationAllowed = reader.GetBoolean(2),
                    Version = reader.GetInt64(3),
                };
            }
        }

        if (profiles.Count == 0)
        {
            return state;
        }

        await using var links = new NpgsqlCommand(
            "select pseudonym, type, profile_id, linked_at from identifiers where profile_id = any(@ids)", connection, transaction);
        links.Parameters.Add(new NpgsqlParameter<string[]>("ids", profiles.Keys.ToArray()));
        await using (var reader = await links.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                profiles[reader.GetString(2)].Identifiers[reader.GetString(0)] =
                    (ParseType(reader.GetString(1)), reader.GetFieldValue<DateTimeOffset>(3));
            }
        }

        foreach (var profile in profiles.Values)
        {
            state.Add(profile);
        }

        return state;
    }

    /// <summary>Writes a batch's changes and the offsets it consumed up to.</summary>
    public static async Task SaveAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, BatchChanges changes,
        IReadOnlyList<(string Topic, int Partition, long NextOffset)> offsets, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var batch = new NpgsqlBatch(connection, transaction);
        if (changes.Upserts.Count > 0)
        {
            var upserts = changes.Upserts;
            batch.BatchCommands.Add(Command("""
                insert into profiles (profile_id, first_seen, last_seen, aggregate, personalization_allowed, version, updated_at)
                select id, first_seen, last_seen, aggregate::jsonb, allowed, version, @now
                from unnest(@ids, @first_seen, @last_seen, @aggregates, @allowed, @versions)
                     as u(id, first_seen, last_seen, aggregate, allowed, version)
                on conflict (profile_id) do update set
                    first_seen = excluded.first_seen, last_seen = excluded.last_seen, aggregate = excluded.aggregate,
                    personalization_allowed = excluded.personalization_allowed, version = excluded.version,
                    updated_at = excluded.updated_at
                """,
                Array("ids", upserts.Select(p => p.ProfileId)),
                Times("first_seen", upserts.Select(p => p.FirstSeen)),
                Times("last_seen", upserts.Select(p => p.LastSeen)),
                Array("aggregates", upserts.Select(p => JsonSerializer.Serialize(p.Aggregate, ProfileJsonContext.Default.ProfileAggregate))),
                Array("allowed", upserts.Select(p => p.PersonalizationAllowed)),
                Array("versions", upserts.Select(p => p.Version)),
                new NpgsqlParameter<DateTimeOffset>("now", now)));
        }

        // Identifiers of every changed or removed profile are rewritten whole: a profile has a few dozen at most, and
        // rewriting moves the links of absorbed profiles and drops those of erased ones in the same two statements.
        var rewritten = changes.Upserts.Select(p => p.ProfileId).Concat(changes.Deleted).ToArray();
        if (rewritten.Length > 0)
        {
            batch.BatchCommands.Add(Command("delete from identifiers where profile_id = any(@ids)", Array("ids", rewritten)));
        }

        var links = changes.Upserts.SelectMany(p => p.Identifiers.Select(i => (Pseudonym: i.Key, i.Value.Type, i.Value.LinkedAt, p.ProfileId))).ToList();
        if (links.Count > 0)
        {
            batch.BatchCommands.Add(Command("""
                insert into identifiers (pseudonym, type, profile_id, linked_at)
                select * from unnest(@pseudonyms, @types, @ids, @linked_at)
                """,
                Array("pseudonyms", links.Select(l => l.Pseudonym)),
                Array("types", links.Select(l => ProfileBatchProcessor.IdentifierTypeName(l.Type))),
                Array("ids", links.Select(l => l.ProfileId)),
                Times("linked_at", links.Select(l => l.LinkedAt))));
        }

        if (changes.Merges.Count > 0)
        {
            // Earlier merges into a profile that is now absorbed point at the new survivor: survivors stay final.
            batch.BatchCommands.Add(Command("""
                update profile_merges m set survivor = u.survivor
                from unnest(@absorbed, @survivors) as u(absorbed, survivor)
                where m.survivor = u.absorbed
                """,
                Array("absorbed", changes.Merges.Select(m => m.Absorbed)),
                Array("survivors", changes.Merges.Select(m => FinalSurvivor(changes, m.Survivor)))));
            batch.BatchCommands.Add(Command("""
                insert into profile_merges (absorbed, survivor, merged_at)
                select * from unnest(@absorbed, @survivors, @merged_at)
                on conflict (absorbed) do update set survivor = excluded.survivor, merged_at = excluded.merged_at
                """,
                Array("absorbed", changes.Merges.Select(m => m.Absorbed)),
                Array("survivors", changes.Merges.Select(m => FinalSurvivor(changes, m.Survivor))),
                Times("merged_at", changes.Merges.Select(m => m.MergedAt))));
        }

        if (changes.Erased.Count > 0)
        {
            var erased = changes.Erased.ToArray();
            batch.BatchCommands.Add(Command("delete from profile_merges where survivor = any(@ids) or absorbed = any(@ids)", Array("ids", erased)));
            batch.BatchCommands.Add(Command("delete from profile_outbox where key = any(@keys)",
                Array("keys", erased.Select(ProfileBatchProcessor.Key))));
        }

        if (changes.Deleted.Count > 0)
        {
            batch.BatchCommands.Add(Command("delete from profiles where profile_id = any(@ids)", Array("ids", changes.Deleted)));
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

        if (changes.Outbox.Count > 0)
        {
            batch.BatchCommands.Add(Command("""
                insert into profile_outbox (topic, key, value)
                select topic, key, value from unnest(@topics, @keys, @values) with ordinality as u(topic, key, value, n) order by n
                """,
                Array("topics", changes.Outbox.Select(m => m.Topic)),
                new NpgsqlParameter<byte[]?[]>("keys", changes.Outbox.Select(m => m.Key).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea },
                new NpgsqlParameter<byte[]?[]>("values", changes.Outbox.Select(m => m.Value).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea }));
        }

        if (offsets.Count > 0)
        {
            batch.BatchCommands.Add(Command("""
                insert into consumer_offsets (consumer, topic, partition, next_offset, updated_at)
                select @consumer, topic, partition, next_offset, @now from unnest(@topics, @partitions, @offsets) as u(topic, partition, next_offset)
                on conflict (consumer, topic, partition) do update set next_offset = excluded.next_offset, updated_at = excluded.updated_at
                """,
                new NpgsqlParameter<string>("consumer", Consumer),
                Array("topics", offsets.Select(o => o.Topic)),
                Array("partitions", offsets.Select(o => o.Partition)),
                Array("offsets", offsets.Select(o => o.NextOffset)),
                new NpgsqlParameter<DateTimeOffset>("now", now)));
        }

        if (batch.BatchCommands.Count > 0)
        {
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Where each partition resumes: the offsets stored with the last committed batch.</summary>
    public async Task<Dictionary<(string Topic, int Partition), long>> LoadOffsetsAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select topic, partition, next_offset from consumer_offsets where consumer = @consumer");
        command.Parameters.Add(new NpgsqlParameter<string>("consumer", Consumer));
        var offsets = new Dictionary<(string, int), long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            offsets[(reader.GetString(0), reader.GetInt32(1))] = reader.GetInt64(2);
        }

        return offsets;
    }

    /// <summary>The oldest unpublished outbox records.</summary>
    public async Task<List<(long Seq, OutboxMessage Message)>> ReadOutboxAsync(int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select seq, topic, key, value from profile_outbox order by seq limit @limit");
        command.Parameters.Add(new NpgsqlParameter<int>("limit", limit));
        var messages = new List<(long, OutboxMessage)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            messages.Add((reader.GetInt64(0), new OutboxMessage(reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetFieldValue<byte[]>(2), reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3))));
        }

        return messages;
    }

    /// <summary>Forgets outbox records up to <paramref name="seq"/>, once the broker has them.</summary>
    public async Task DeleteOutboxAsync(long seq, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("delete from profile_outbox where seq <= @seq");
        command.Parameters.Add(new NpgsqlParameter<long>("seq", seq));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string FinalSurvivor(BatchChanges changes, string survivor)
    {
        // A survivor absorbed later in the same batch hands its absorbed profiles on.
        for (var guard = 0; guard < changes.Merges.Count; guard++)
        {
            var next = changes.Merges.FirstOrDefault(m => m.Absorbed == survivor);
            if (next is null)
            {
                break;
            }

            survivor = next.Survivor;
        }

        return survivor;
    }

    private static IdentifierType ParseType(string type) => type switch
    {
        "email" => IdentifierType.Email,
        "phone" => IdentifierType.Phone,
        "loyalty" => IdentifierType.Loyalty,
        "device" => IdentifierType.Device,
        "social" => IdentifierType.Social,
        _ => throw new InvalidDataException($"Unknown identifier type '{type}'."),
    };

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static NpgsqlParameter<T[]> Array<T>(string name, IEnumerable<T> values) => new(name, values.ToArray());

    private static NpgsqlParameter Times(string name, IEnumerable<DateTimeOffset> values) =>
        new NpgsqlParameter<DateTimeOffset[]>(name, values.ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz };
}
