using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streams.Contracts.Identifiers;
using Streams.Infrastructure.Postgres;
using Streams.IntegrationTests.Fixtures;
using Streams.Profiles.Features;
using Streams.Profiles.Lineage;
using Streams.Profiles.Processing;
using Streams.Profiles.Store;

namespace Streams.IntegrationTests.Profiles;

[Collection(IntegrationCollection.Name)]
public sealed class ProfileRepositoryTests(PostgresFixture postgres)
{
    private const int Profiles = 50_000;
    private const int IdentifiersPerProfile = 5;

    /// <summary>
    /// A batch's lookup must cost what the batch holds, not what the tables hold: with a batch's thousands of pseudonyms
    /// (most of them new) the planner hashed them and scanned both tables whole, a cost growing with every customer ever
    /// seen. The plan must reach every row through an index, and the profiles found must be exactly the known ones.
    /// </summary>
    [Fact]
    public async Task Load_ReachesProfilesThroughIndexes_WhenTheBatchIsLargeAndTheTablesLarger()
    {
        await using var dataSource = await MigratedAsync();
        await using (var fill = dataSource.CreateCommand($$"""
            insert into profiles (profile_id, first_seen, last_seen, aggregate, personalization_allowed, version, updated_at, pseudonyms)
            select 'p-' || g, now(), now(), '{}', true, 1, now(),
                   array(select 'k1:' || g || '-' || t from generate_series(1, {{IdentifiersPerProfile}}) t order by 1)
            from generate_series(1, {{Profiles}}) g;
            insert into identifiers (pseudonym, type, profile_id, linked_at)
            select 'k1:' || g || '-' || t, 'device', 'p-' || g, now()
            from generate_series(1, {{Profiles}}) g cross join generate_series(1, {{IdentifiersPerProfile}}) t;
            analyze profiles;
            analyze identifiers;
            """))
        {
            await fill.ExecuteNonQueryAsync();
        }

        // A batch: 1,000 known pseudonyms (two of each of 500 profiles) and 3,000 never seen.
        string[] pseudonyms =
        [
            .. Enumerable.Range(1, 500).SelectMany(p => new[] { $"k1:{p * 7}-1", $"k1:{p * 7}-4" }),
            .. Enumerable.Range(1, 3000).Select(n => $"k1:new-{n}"),
        ];

        Assert.Equal(["Index Scan on identifiers", "Index Scan on profiles"], await ScansAsync(dataSource, ProfileRepository.LoadProfilesSql, pseudonyms));
        // The loaded profiles' identifiers: 2,500 pseudonyms, by primary key (there is no index by profile).
        var listed = Enumerable.Range(1, 500).SelectMany(p => Enumerable.Range(1, IdentifiersPerProfile).Select(t => $"k1:{p * 7}-{t}")).ToArray();
        Assert.Equal(["Index Scan on identifiers"], await ScansAsync(dataSource, ProfileRepository.LoadLinksSql, listed));

        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var state = ProfileRepository.Load(connection, transaction, pseudonyms);
        Assert.Equal(Enumerable.Range(1, 500).Select(p => $"p-{p * 7}").Order(StringComparer.Ordinal), state.Profiles.Keys.Order(StringComparer.Ordinal));
        Assert.All(state.Profiles.Values, p => Assert.Equal(IdentifiersPerProfile, p.Identifiers.Count));
    }

    /// <summary>
    /// A block is about the event: it must be loaded for every pseudonym of the batch, those of profiles carried over from
    /// the batch before too (they are not loaded from the database), or an event on a carried profile re-made the link.
    /// </summary>
    [Fact]
    public async Task Load_ReadsTheBlocksOfEveryPseudonymOfTheBatch_AlsoWhenNoProfileIsToBeLoaded()
    {
        await using var dataSource = await MigratedAsync();
        await using (var fill = dataSource.CreateCommand(
            "insert into identity_blocks (pseudonym, keep, blocked_at) values ('k1:device', 'k1:email-2', now()), ('k1:device', 'k1:email-3', now())"))
        {
            await fill.ExecuteNonQueryAsync();
        }

        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        foreach (var toLoad in new[] { Array.Empty<string>(), ["k1:new"] })
        {
            var state = ProfileRepository.Load(connection, transaction, toLoad, ["k1:device", "k1:new"]);
            Assert.Equal(["k1:email-2", "k1:email-3"], state.Blocks["k1:device"].Order(StringComparer.Ordinal));
        }
    }

    /// <summary>A merge bridged by an event whose id holds U+0000 (allowed on events) is stored, not refused.</summary>
    [Fact]
    public async Task Save_AMergeWhoseEventIdHoldsNul_IsStored()
    {
        await using var dataSource = await MigratedAsync();
        await SaveAsync(dataSource, Merge("evt\0nul"));

        await using var read = dataSource.CreateCommand("select event_id, identifiers, bridge from merge_lineage");
        await using var reader = await read.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("evt\uFFFDnul", reader.GetString(0));
        Assert.Equal(["k1:a", "k1:b"], reader.GetFieldValue<string[]>(1));
        Assert.Equal(["k1:b"], reader.GetFieldValue<string[]>(2));
    }

    /// <summary>
    /// A batch writes the profiles it created by COPY and the ones it loaded by upsert: both must read back as written,
    /// aggregate, pseudonyms, version and consent alike.
    /// </summary>
    [Fact]
    public async Task Save_CreatedAndLoadedProfiles_ReadBackAsWritten()
    {
        await using var dataSource = await MigratedAsync();
        var at = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        await InsertProfileAsync(dataSource, "p-loaded", "k1:old");
        var created = Profile("p-new", at, 3, false, 42.5m, "k1:b", "k1:a");
        var loaded = Profile("p-loaded", at.AddDays(1), 7, true, 0.1m, "k1:old", "k1:c");
        var changes = new BatchChanges();
        changes.Created.Add("p-new");
        changes.Upserts.AddRange([created, loaded]);

        await SaveAsync(dataSource, changes);

        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using (var link = new NpgsqlCommand(
                "insert into identifiers (pseudonym, type, profile_id, linked_at) values ('k1:a', 'email', 'p-new', now()), ('k1:b', 'email', 'p-new', now()), " +
                "('k1:old', 'email', 'p-loaded', now()), ('k1:c', 'email', 'p-loaded', now())", connection, transaction))
            {
                await link.ExecuteNonQueryAsync();
            }

            var state = ProfileRepository.Load(connection, transaction, ["k1:a", "k1:old"]);
            foreach (var written in new[] { created, loaded })
            {
                var read = state.Profiles[written.ProfileId];
                Assert.Equal(Json(written), Json(read));
                Assert.Equal((written.Version, written.PersonalizationAllowed), (read.Version, read.PersonalizationAllowed));
                Assert.Equal(written.SortedPseudonyms(), read.SortedPseudonyms());
            }
        }
    }

    /// <summary>
    /// A profile the batch created is a plain insert: should its id already have a row, the save fails on the unique key
    /// (the worker quarantines the record, see PoisonRecordTests) rather than overwriting the stored profile.
    /// </summary>
    [Fact]
    public async Task Save_ACreatedProfileWhoseIdHasARow_IsRefusedAndTheRowKept()
    {
        await using var dataSource = await MigratedAsync();
        var at = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        await InsertProfileAsync(dataSource, "p-taken", "k1:old");
        var changes = new BatchChanges();
        changes.Created.Add("p-taken");
        changes.Upserts.Add(Profile("p-taken", at, 1, true, 1m, "k1:new"));

        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            var refused = Assert.Throws<PostgresException>(() =>
                ProfileRepository.Save(connection, transaction, changes, [], new Dictionary<(string, int), long>(), at));
            Assert.Equal(PostgresErrorCodes.UniqueViolation, refused.SqlState);
        }

        await using var read = dataSource.CreateCommand("select pseudonyms, version from profiles where profile_id = 'p-taken'");
        await using var reader = await read.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(["k1:old"], reader.GetFieldValue<string[]>(0));
        Assert.Equal(1, reader.GetInt64(1));
    }

    /// <summary>
    /// A merge id derives from the bridging record's position, which a committed batch never applies again: a merge
    /// recorded twice would mean a record applied twice, and is refused on the unique key rather than passed over.
    /// </summary>
    [Fact]
    public async Task Save_AMergeAlreadyRecorded_IsRefused()
    {
        await using var dataSource = await MigratedAsync();
        await SaveAsync(dataSource, Merge("evt-1"));

        var refused = await Assert.ThrowsAsync<PostgresException>(() => SaveAsync(dataSource, Merge("evt-1")));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, refused.SqlState);
    }

    /// <summary>
    /// A batch keeps one lineage row per profile, not one per event (the cost of a row per event, issue 17), and the events
    /// still come back in the order applied: across batches, across the profiles merged into one (their events interleave
    /// within a batch), after a row of the per-event table written before. A split then gives each event its profile and
    /// keeps that order; an event the split does not attribute stays with its profile.
    /// </summary>
    [Fact]
    public async Task Save_LineageOfABatch_IsOneRowPerProfile_AndReadsBackInTheOrderApplied()
    {
        await using var dataSource = await MigratedAsync();
        await using (var before = dataSource.CreateCommand("""
            insert into lineage_events (profile_id, canonical_topic, canonical_partition, canonical_offset, event, kept_until)
            values ('p-b', 'canonical', 0, 1, @event, now() + interval '1 day');
            insert into profile_merges (absorbed, survivor, merged_at) values ('p-b', 'p-a', now())
            """))
        {
            before.Parameters.Add(new NpgsqlParameter<byte[]>("event", Streams.Contracts.Canonical.CanonicalJson.Serialize(Event(1)))
            {
                NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Json,
            });
            await before.ExecuteNonQueryAsync();
        }

        await SaveAsync(dataSource, Lineage(("p-a", 2), ("p-b", 3), ("p-a", 4), ("p-other", 5)));
        await SaveAsync(dataSource, Lineage(("p-b", 6), ("p-a", 7), ("p-a", 8)));

        await using (var count = dataSource.CreateCommand("select count(*) from lineage_event_groups"))
        {
            Assert.Equal(5L, await count.ExecuteScalarAsync());
        }

        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var events = LoadEvents(connection, transaction, "p-a");
        Assert.Equal([1L, 2, 3, 4, 6, 7, 8], events.Select(e => e.Canonical.Offset));
        Assert.Equal(["evt-1", "evt-2", "evt-3", "evt-4", "evt-6", "evt-7", "evt-8"], events.Select(e => e.Event.EventId));

        // The split: offsets 1, 3 and 7 to p-b, the others to p-a, offset 8 not attributed.
        var attribution = events.Where(e => e.Canonical.Offset != 8)
            .Select(e => (e.Seq, e.Canonical.Offset is 1 or 3 or 7 ? "p-b" : "p-a")).ToList();
        var split = new Streams.Profiles.Lineage.Split([], attribution, [], []);
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            foreach (var command in LineageStore.SaveSplit("p-a", split, [], null, DateTimeOffset.UnixEpoch))
            {
                batch.BatchCommands.Add(command);
            }

            await batch.ExecuteNonQueryAsync();
        }

        Assert.Equal([2L, 4, 6, 8], LoadEvents(connection, transaction, "p-a").Select(e => e.Canonical.Offset));
        Assert.Equal([1L, 3, 7], LoadEvents(connection, transaction, "p-b").Select(e => e.Canonical.Offset));
        Assert.Equal([5L], LoadEvents(connection, transaction, "p-other").Select(e => e.Canonical.Offset));
    }

    /// <summary>
    /// A split reads a component's kept events into memory, and nothing bounds how many a profile keeps: reading stops at
    /// the bound, counted in the bytes the events take as read (a large group is stored compressed, so the size stored
    /// alone would let several times the bound through), and a component past it comes back as none.
    /// </summary>
    [Fact]
    public async Task TryLoadEvents_ReadsAtMostTheBound_CountedAsRead_NotAsStored()
    {
        await using var dataSource = await MigratedAsync();
        await SaveAsync(dataSource, Lineage([.. Enumerable.Range(1, 300).Select(offset => ("p-a", (long)offset))]));
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var sizes = new NpgsqlCommand(
            "select sum(pg_column_size(events_text))::bigint, sum(octet_length(events_text))::bigint from lineage_event_groups", connection, transaction);
        await using var reader = await sizes.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        var (stored, read) = (reader.GetInt64(0), reader.GetInt64(1));
        await reader.CloseAsync();
        Assert.True(stored < read / 2, $"the group is stored compressed ({stored} of {read} bytes)");

        Assert.True(LineageStore.TryLoadEvents(connection, transaction, "p-a", read, out var all));
        Assert.Equal(300, all.Count);
        Assert.False(LineageStore.TryLoadEvents(connection, transaction, "p-a", read - 1, out var over));
        Assert.Empty(over);
        Assert.False(LineageStore.TryLoadEvents(connection, transaction, "p-a", stored - 1, out _));
    }

    /// <summary>
    /// Migration 0270 keeps new lineage groups as text beside the json of older ones, so that PostgreSQL no longer parses
    /// every group it stores and the upgrade rewrites nothing. Groups written before it read back the same events in the
    /// same order after it, beside groups written after it, and a split regroups both kinds.
    /// </summary>
    [Fact]
    public async Task LineageGroups_WrittenAsJsonBeforeMigration0270_ReadBackTheSame_AfterIt()
    {
        var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await using (dataSource)
        {
            var all = Migration.FromAssemblies(typeof(MigrationRunner).Assembly, typeof(ProfileRepository).Assembly);
            var runner = new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance);
            Assert.Contains(all, m => m.Id.StartsWith("0270_", StringComparison.Ordinal));
            await runner.MigrateAsync([.. all.Where(m => string.CompareOrdinal(m.Id, "0270") < 0)]);
            // One batch's groups as the worker wrote them then: a json array per profile, each event in its place.
            await using (var before = dataSource.CreateCommand("""
                insert into lineage_event_groups (profile_id, batch, kept_until, events)
                select p, 1, now() + interval '1 day', e::json
                from unnest(@profiles, @groups) as u(p, e)
                """))
            {
                before.Parameters.Add(new NpgsqlParameter<string[]>("profiles", ["p-a", "p-b"]));
                before.Parameters.Add(new NpgsqlParameter<string[]>("groups", [Group((0, 1), (2, 3)), Group((1, 2))]));
                await before.ExecuteNonQueryAsync();
            }

            // Batch 1 taken: the next batch's number comes after it.
            await using (var next = dataSource.CreateCommand("select setval(pg_get_serial_sequence('lineage_events', 'seq'), 1)"))
            {
                await next.ExecuteNonQueryAsync();
            }

            Assert.Contains(await runner.MigrateAsync(all), id => id.StartsWith("0270_", StringComparison.Ordinal));
            await SaveAsync(dataSource, Lineage(("p-a", 4)));
            Assert.Equal((2L, 1L), await DocumentsAsync(dataSource));

            long third;
            await using (var read = await dataSource.OpenConnectionAsync())
            await using (var transaction = await read.BeginTransactionAsync())
            {
                var kept = LoadEvents(read, transaction, "p-a");
                Assert.Equal([1L, 3, 4], kept.Select(e => e.Canonical.Offset));
                Assert.Equal(Event(3).EventId, kept[1].Event.EventId);
                Assert.Equal([2L], LoadEvents(read, transaction, "p-b").Select(e => e.Canonical.Offset));
                third = kept[1].Seq;
            }

            // A split writes the component's groups again: as text, each event in its place, the profile given to it.
            await using (var split = await dataSource.OpenConnectionAsync())
            {
                var regroup = new Split([], [(third, "p-c")], [], []);
                await using var batch = new NpgsqlBatch(split);
                foreach (var command in LineageStore.SaveSplit("p-a", regroup, [], null, DateTimeOffset.UnixEpoch))
                {
                    batch.BatchCommands.Add(command);
                }

                await batch.ExecuteNonQueryAsync();
            }

            Assert.Equal((1L, 3L), await DocumentsAsync(dataSource));
            await using var after = await dataSource.OpenConnectionAsync();
            await using var inSplit = await after.BeginTransactionAsync();
            Assert.Equal([1L, 4], LoadEvents(after, inSplit, "p-a").Select(e => e.Canonical.Offset));
            Assert.Equal([3L], LoadEvents(after, inSplit, "p-c").Select(e => e.Canonical.Offset));
        }

        static string Group(params (int Place, long Offset)[] events) =>
            "[" + string.Join(',', events.Select(e =>
                $$"""{"n":{{e.Place}},"t":"canonical","p":{{e.Offset % 3}},"o":{{e.Offset}},"e":{{System.Text.Encoding.UTF8.GetString(Streams.Contracts.Canonical.CanonicalJson.Serialize(Event(e.Offset)))}}}""")) + "]";

        // Groups whose document is json (written before 0270), and those whose document is text.
        static async Task<(long Json, long Text)> DocumentsAsync(NpgsqlDataSource dataSource)
        {
            await using var count = dataSource.CreateCommand(
                "select count(*) filter (where events is not null), count(*) filter (where events_text is not null) from lineage_event_groups");
            await using var reader = await count.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            return (reader.GetInt64(0), reader.GetInt64(1));
        }
    }

    /// <summary>
    /// A profile whose events in one batch would make one value past the group limit (thousands of 1 MiB canonical records
    /// for one profile: past 1 GB PostgreSQL refuses the value, and the batch could never be saved) keeps that batch's
    /// events a row each, read back in the order applied with the batches around it.
    /// </summary>
    [Fact]
    public async Task CopyEvents_AProfilesGroupPastTheLimit_KeepsTheBatchARowPerEvent_InTheOrderApplied()
    {
        await using var dataSource = await MigratedAsync();
        await SaveAsync(dataSource, Lineage(("p-a", 1), ("p-b", 2)));
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            var large = Lineage(("p-a", 3), ("p-b", 4), ("p-a", 5), ("p-a", 6));
            var oneEvent = Streams.Contracts.Canonical.CanonicalJson.Serialize(Event(3)).Length;
            LineageStore.CopyEvents(connection, large.Lineage, large.LineageKeptUntil!.Value, maxGroupBytes: 2 * oneEvent + 100);
        }

        await SaveAsync(dataSource, Lineage(("p-a", 7)));

        Assert.Equal((4L, 3L), await LineageRowsAsync(dataSource));

        await using var read = await dataSource.OpenConnectionAsync();
        await using var transaction = await read.BeginTransactionAsync();
        Assert.Equal([1L, 3, 5, 6, 7], LoadEvents(read, transaction, "p-a").Select(e => e.Canonical.Offset));
        Assert.Equal([2L, 4], LoadEvents(read, transaction, "p-b").Select(e => e.Canonical.Offset));
    }

    /// <summary>
    /// A batch's groups share one buffer: a batch whose groups together would pass what it may hold keeps its events a row
    /// each, like a single group past its limit, read back in the order applied.
    /// </summary>
    [Fact]
    public async Task CopyEvents_TheBatchsGroupsPastTheBufferLimit_KeepsTheBatchARowPerEvent_InTheOrderApplied()
    {
        await using var dataSource = await MigratedAsync();
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            var batch = Lineage(("p-a", 1), ("p-b", 2), ("p-c", 3));
            var oneEvent = Streams.Contracts.Canonical.CanonicalJson.Serialize(Event(1)).Length;
            LineageStore.CopyEvents(connection, batch.Lineage, batch.LineageKeptUntil!.Value, maxBatchBytes: 2 * oneEvent + 100);
        }

        Assert.Equal((3L, 0L), await LineageRowsAsync(dataSource));

        await using var read = await dataSource.OpenConnectionAsync();
        await using var transaction = await read.BeginTransactionAsync();
        Assert.Equal([1L], LoadEvents(read, transaction, "p-a").Select(e => e.Canonical.Offset));
        Assert.Equal([3L], LoadEvents(read, transaction, "p-c").Select(e => e.Canonical.Offset));
    }

    /// <summary>
    /// An erasure's lineage deletes must find the erased profiles' rows through the indexes: written as `in (select …
    /// union …)` the planner read the whole lineage table for every erasure, a cost growing with the retention.
    /// </summary>
    [Fact]
    public async Task Erase_ReachesLineageThroughIndexes_WhenTheTablesAreLarge()
    {
        await using var dataSource = await MigratedAsync();
        await using (var fill = dataSource.CreateCommand($$"""
            insert into lineage_events (profile_id, canonical_topic, canonical_partition, canonical_offset, event, kept_until)
            select 'p-' || g, 'canonical', 0, g, '{}', now() + interval '1 day' from generate_series(1, {{Profiles}}) g;
            insert into lineage_event_groups (profile_id, batch, kept_until, events)
            select 'p-' || g, g, now() + interval '1 day', '[]' from generate_series(1, {{Profiles}}) g;
            insert into merge_lineage (merge_id, absorbed, survivor, merged_at, event_id, canonical_topic, canonical_partition, canonical_offset,
                source_topic, source_partition, source_offset, identifiers, bridge)
            select 'm-' || g, 'p-' || g, 'p-' || (g + 1), now(), 'e', 'canonical', 0, g, 'store', 0, g, '{}', '{}' from generate_series(1, {{Profiles}}) g;
            insert into profile_merges (absorbed, survivor, merged_at) select 'p-' || g, 'p-' || (g + 1), now() from generate_series(1, {{Profiles}}, 2) g;
            analyze lineage_events;
            analyze lineage_event_groups;
            analyze merge_lineage;
            analyze profile_merges;
            """))
        {
            await fill.ExecuteNonQueryAsync();
        }

        foreach (var command in LineageStore.Erase(["p-8", "p-14"], []))
        {
            var scans = await ScansAsync(dataSource, command);
            Assert.DoesNotContain(scans, s => s.StartsWith("Seq Scan on lineage_", StringComparison.Ordinal) || s == "Seq Scan on merge_lineage");
        }
    }

    /// <summary>
    /// An erasure's delete of the erased profiles' waiting records goes through the outbox's key index: by key alone it
    /// read the whole heap, with the dead versions of every record published since the last vacuum.
    /// </summary>
    [Fact]
    public async Task Erase_DeletesWaitingRecordsThroughTheOutboxKeyIndex_WhenTheOutboxIsLarge()
    {
        await using var dataSource = await MigratedAsync();
        await using (var fill = dataSource.CreateCommand($$"""
            insert into profile_outbox (topic, key, value) select 'profiles', convert_to('p-' || g, 'UTF8'), '\x00' from generate_series(1, {{Profiles}}) g;
            analyze profile_outbox;
            """))
        {
            await fill.ExecuteNonQueryAsync();
        }

        var erase = ProfileRepository.EraseFromOutbox(["p-8", "p-14"]);
        var scans = (await ScansAsync(dataSource, erase)).Where(s => s.EndsWith(" on profile_outbox", StringComparison.Ordinal) && !s.StartsWith("ModifyTable", StringComparison.Ordinal));
        Assert.Contains(Assert.Single(scans), new[] { "Index Scan on profile_outbox", "Bitmap Heap Scan on profile_outbox" });

        await using var connection = await dataSource.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection) { BatchCommands = { erase } };
        Assert.Equal(2, await batch.ExecuteNonQueryAsync());
        await using var left = dataSource.CreateCommand("select count(*) from profile_outbox");
        Assert.Equal(Profiles - 2L, await left.ExecuteScalarAsync());
    }

    /// <summary>A profile's retained events and those of the profiles merged into it, with no bound on their bytes.</summary>
    private static List<RetainedEvent> LoadEvents(NpgsqlConnection connection, NpgsqlTransaction transaction, string profileId)
    {
        Assert.True(LineageStore.TryLoadEvents(connection, transaction, profileId, long.MaxValue, out var events));
        return events;
    }

    /// <summary>Rows of lineage_events and of lineage_event_groups.</summary>
    private static async Task<(long Events, long Groups)> LineageRowsAsync(NpgsqlDataSource dataSource)
    {
        await using var counts = dataSource.CreateCommand("select (select count(*) from lineage_events), (select count(*) from lineage_event_groups)");
        await using var reader = await counts.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static BatchChanges Lineage(params (string ProfileId, long Offset)[] events)
    {
        var changes = new BatchChanges { LineageKeptUntil = DateTimeOffset.UtcNow.AddDays(1) };
        foreach (var (profileId, offset) in events)
        {
            changes.Lineage.Add(new LineageEvent(profileId, new Streams.Contracts.SourcePosition("canonical", (int)(offset % 3), offset), Event(offset)));
        }

        return changes;
    }

    private static Streams.Contracts.Canonical.CanonicalEvent Event(long offset) =>
        new(Streams.Contracts.Channel.Store, $"evt-{offset}", DateTimeOffset.UnixEpoch.AddHours(offset),
            [new Streams.Contracts.Canonical.CanonicalIdentifier(IdentifierType.Email, $"k1:e{offset}")], [],
            new Streams.Contracts.SourcePosition("store", 0, offset));

    private static BatchChanges Merge(string eventId)
    {
        var changes = new BatchChanges();
        changes.MergeLineage.Add(new MergeLineage("m-1", "p-a", "p-b", DateTimeOffset.UnixEpoch, eventId,
            new Streams.Contracts.SourcePosition("canonical", 0, 1), new Streams.Contracts.SourcePosition("store", 0, 1),
            new Streams.Profiles.Identity.MergeEvidence(["k1:a", "k1:b"], ["k1:b"])));
        return changes;
    }

    private static async Task SaveAsync(NpgsqlDataSource dataSource, BatchChanges changes)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        ProfileRepository.Save(connection, transaction, changes, [], new Dictionary<(string, int), long>(), DateTimeOffset.UnixEpoch);
        await transaction.CommitAsync();
    }

    /// <summary>
    /// A batch's pseudonym locks and the table locks of the outbox publisher and of segmentation are advisory locks on
    /// 32-bit hashes. A pseudonym hashing like a table's name must not wait for that table's lock (nor hold it up), yet
    /// two batches with one pseudonym still take turns.
    /// </summary>
    [Fact]
    public async Task Load_APseudonymHashingLikeATableLock_DoesNotWaitForIt_ButTwoBatchesWithOnePseudonymTakeTurns()
    {
        await using var dataSource = await MigratedAsync();
        string[] tables = [ProfileRepository.OutboxTable, "segmentation_model"];
        await using var holder = await dataSource.OpenConnectionAsync();
        await using var held = await holder.BeginTransactionAsync();
        await using (var locks = new NpgsqlCommand("select count(pg_advisory_xact_lock(hashtext(t))) from unnest(@tables) t", holder, held))
        {
            locks.Parameters.Add(new NpgsqlParameter<string[]>("tables", tables));
            await locks.ExecuteScalarAsync();
        }

        await using var batch = await dataSource.OpenConnectionAsync();
        await using var first = await batch.BeginTransactionAsync();
        await SetLockTimeoutAsync(batch, first);
        // The same strings as the table names: the same hashes. With a shared lock space this waits and fails (55P03).
        ProfileRepository.Load(batch, first, tables);

        await using var other = await dataSource.OpenConnectionAsync();
        await using var second = await other.BeginTransactionAsync();
        await SetLockTimeoutAsync(other, second);
        var waited = Assert.Throws<PostgresException>(() => ProfileRepository.Load(other, second, [tables[1]]));
        Assert.Equal(PostgresErrorCodes.LockNotAvailable, waited.SqlState);

        static async Task SetLockTimeoutAsync(NpgsqlConnection connection, NpgsqlTransaction transaction)
        {
            await using var timeout = new NpgsqlCommand("set local lock_timeout = '1s'", connection, transaction);
            await timeout.ExecuteNonQueryAsync();
        }
    }

    private async Task<NpgsqlDataSource> MigratedAsync()
    {
        var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance)
            .MigrateAsync(Migration.FromAssemblies(typeof(MigrationRunner).Assembly, typeof(ProfileRepository).Assembly));
        return dataSource;
    }

    private static async Task InsertProfileAsync(NpgsqlDataSource dataSource, string id, string pseudonym)
    {
        await using var insert = dataSource.CreateCommand(
            "insert into profiles (profile_id, first_seen, last_seen, aggregate, version, updated_at, pseudonyms) values (@id, now(), now(), '{}', 1, now(), @p)");
        insert.Parameters.Add(new NpgsqlParameter<string>("id", id));
        insert.Parameters.Add(new NpgsqlParameter<string[]>("p", [pseudonym]));
        await insert.ExecuteNonQueryAsync();
    }

    private static StoredProfile Profile(string id, DateTimeOffset at, long version, bool allowed, decimal spend, params string[] pseudonyms)
    {
        var aggregate = new ProfileAggregate { FirstSeen = at, LastSeen = at.AddHours(2), StoreSpend = spend, PageViews = version };
        aggregate.CategoryAmounts["grocery"] = spend;
        var profile = new StoredProfile { ProfileId = id, Aggregate = aggregate, Version = version, PersonalizationAllowed = allowed };
        foreach (var pseudonym in pseudonyms)
        {
            profile.Identifiers[pseudonym] = (IdentifierType.Email, at, null);
        }

        return profile;
    }

    private static string Json(StoredProfile profile) => JsonSerializer.Serialize(profile.Aggregate, ProfileJsonContext.Default.ProfileAggregate);

    /// <summary>How the plan of <paramref name="sql"/> reaches each table, e.g. "Index Scan on profiles", distinct and sorted.</summary>
    private static async Task<List<string>> ScansAsync(NpgsqlDataSource dataSource, string sql, string[] pseudonyms)
    {
        await using var explain = dataSource.CreateCommand("explain (format json) " + sql);
        explain.Parameters.Add(new NpgsqlParameter<string[]>("pseudonyms", pseudonyms));
        return Scans((string)(await explain.ExecuteScalarAsync())!);
    }

    /// <summary>How the plan of a batch command reaches each table, distinct and sorted.</summary>
    private static async Task<List<string>> ScansAsync(NpgsqlDataSource dataSource, NpgsqlBatchCommand command)
    {
        await using var explain = dataSource.CreateCommand("explain (format json) " + command.CommandText);
        foreach (NpgsqlParameter parameter in command.Parameters)
        {
            explain.Parameters.Add(parameter.Clone());
        }

        return Scans((string)(await explain.ExecuteScalarAsync())!);
    }

    private static List<string> Scans(string plan) =>
        Nodes(JsonDocument.Parse(plan).RootElement[0].GetProperty("Plan"))
            .Where(n => n.TryGetProperty("Relation Name", out _))
            .Select(n => $"{n.GetProperty("Node Type").GetString()} on {n.GetProperty("Relation Name").GetString()}")
            .Distinct().Order(StringComparer.Ordinal).ToList();

    private static IEnumerable<JsonElement> Nodes(JsonElement node)
    {
        yield return node;
        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray().SelectMany(Nodes))
            {
                yield return child;
            }
        }
    }
}
