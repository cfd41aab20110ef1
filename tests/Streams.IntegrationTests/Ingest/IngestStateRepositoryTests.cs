using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streams.Infrastructure.Postgres;
using Streams.IntegrationTests.Fixtures;
using Streams.Ingest;
using Streams.Ingest.Worker;

namespace Streams.IntegrationTests.Ingest;

/// <summary>
/// De-duplication claims and their expiry, and the checkpoints of a deployment upgraded from ingest's own offset table
/// (<c>ingest_checkpoints</c>, before migration 0102) to the runtime's <c>consumer_offsets</c>, on a real PostgreSQL.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class IngestStateRepositoryTests(PostgresFixture postgres)
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset WindowStart = Now - TimeSpan.FromDays(7);

    [Fact]
    public async Task Claim_SameIdFromAnotherRecord_IsADuplicate_TheSameRecordReadAgainIsNot()
    {
        await using var dataSource = await MigratedAsync();
        var state = new IngestStateRepository(dataSource);

        Assert.Empty(await state.ClaimAsync([new SeenEvent("store", "e-1", 0, 10, Now)], WindowStart, default));

        // Another partition, or another offset of the same one: someone else's record with that id.
        Assert.Equal([("store", "e-1")], await state.ClaimAsync([new SeenEvent("store", "e-1", 1, 10, Now)], WindowStart, default));
        Assert.Equal([("store", "e-1")], await state.ClaimAsync([new SeenEvent("store", "e-1", 0, 11, Now)], WindowStart, default));

        // The record that holds the claim, read again after a crash: still its own.
        Assert.Empty(await state.ClaimAsync([new SeenEvent("store", "e-1", 0, 10, Now)], WindowStart, default));

        // Another topic is another namespace of ids.
        Assert.Empty(await state.ClaimAsync([new SeenEvent("social", "e-1", 1, 10, Now)], WindowStart, default));
    }

    [Fact]
    public async Task Claim_AnIdWithNul_IsClaimedLikeAnyOther_AndStaysApartFromIdsThatLookLikeItsStoredForm()
    {
        await using var dataSource = await MigratedAsync();
        var state = new IngestStateRepository(dataSource);

        // U+0000 is allowed in an event id, and PostgreSQL text cannot hold it: the claim failed for good.
        Assert.Empty(await state.ClaimAsync([new SeenEvent("store", "e\u00001", 0, 10, Now)], WindowStart, default));
        Assert.Equal([("store", "e\u00001")], await state.ClaimAsync([new SeenEvent("store", "e\u00001", 1, 10, Now)], WindowStart, default));
        Assert.Empty(await state.ClaimAsync([new SeenEvent("store", "e\u00001", 0, 10, Now)], WindowStart, default));

        // Other ids, however close to how that one is stored, are other ids.
        Assert.Empty(await state.ClaimAsync(
            [new SeenEvent("store", "e\uFFFF01", 0, 11, Now), new SeenEvent("store", "e\uFFFF\uFFFF01", 0, 12, Now), new SeenEvent("store", "e1", 0, 13, Now)],
            WindowStart, default));
        Assert.Equal([("store", "e\uFFFF01")], await state.ClaimAsync([new SeenEvent("store", "e\uFFFF01", 1, 11, Now)], WindowStart, default));
    }

    [Fact]
    public async Task Claim_TwoInstancesAtOnce_EachIdIsHeldByExactlyOne()
    {
        await using var dataSource = await MigratedAsync();
        var first = new IngestStateRepository(dataSource);
        var second = new IngestStateRepository(dataSource);
        var ids = Enumerable.Range(0, 500).Select(i => $"e-{i}").ToList();

        // The same ids, read by two instances on two partitions, claimed at the same moment.
        for (var round = 0; round < 5; round++)
        {
            var batchA = ids.Select((id, i) => new SeenEvent($"store-{round}", id, 0, i, Now)).ToList();
            var batchB = ids.Select((id, i) => new SeenEvent($"store-{round}", id, 1, i, Now)).Reverse().ToList();
            var results = await Task.WhenAll(
                Task.Run(() => first.ClaimAsync(batchA, WindowStart, default)),
                Task.Run(() => second.ClaimAsync(batchB, WindowStart, default)));

            var heldByA = ids.Where(id => !results[0].Contains(($"store-{round}", id))).ToHashSet();
            var heldByB = ids.Where(id => !results[1].Contains(($"store-{round}", id))).ToHashSet();
            Assert.Empty(heldByA.Intersect(heldByB));
            Assert.Equal(ids.Count, heldByA.Count + heldByB.Count);
        }
    }

    [Fact]
    public async Task Claim_AfterTheWindow_IsNewAgain()
    {
        await using var dataSource = await MigratedAsync();
        var state = new IngestStateRepository(dataSource);
        await state.ClaimAsync([new SeenEvent("store", "e-old", 0, 1, WindowStart - TimeSpan.FromSeconds(1))], WindowStart, default);
        await state.ClaimAsync([new SeenEvent("store", "e-recent", 0, 2, WindowStart + TimeSpan.FromSeconds(1))], WindowStart, default);

        var duplicates = await state.ClaimAsync(
            [new SeenEvent("store", "e-old", 1, 5, Now), new SeenEvent("store", "e-recent", 1, 6, Now)], WindowStart, default);

        Assert.Equal([("store", "e-recent")], duplicates);
    }

    [Fact]
    public async Task Expire_RemovesAtMostOneChunkPerCall_AndNothingInsideTheWindow()
    {
        await using var dataSource = await MigratedAsync();
        var state = new IngestStateRepository(dataSource);
        var old = Enumerable.Range(0, 25).Select(i => new SeenEvent("store", $"old-{i}", 0, i, WindowStart - TimeSpan.FromHours(i + 1))).ToList();
        var recent = Enumerable.Range(0, 5).Select(i => new SeenEvent("store", $"new-{i}", 0, 100 + i, Now)).ToList();
        await state.ClaimAsync([.. old, .. recent], WindowStart, default);

        var removed = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            removed.Add(await state.ExpireSeenAsync(WindowStart, limit: 10, TimeSpan.FromSeconds(5), default));
        }

        Assert.Equal([10, 10, 5, 0], removed);
        await using var count = dataSource.CreateCommand("select count(*) from ingest_seen_events");
        Assert.Equal(5L, (long)(await count.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Upgrade_FromIngestCheckpoints_CarriesEveryCheckpointOver_OffsetsToConsumerOffsets_MarksBesideThem()
    {
        // A deployment from before migration 0102, with checkpoints in ingest's own table.
        await using var dataSource = await MigratedAsync(m => string.CompareOrdinal(m.Id, "0102") < 0);
        await using (var old = dataSource.CreateCommand("""
            insert into ingest_checkpoints (topic, partition, next_offset, output_marks) values
                ('store', 0, 4200, '{"canonical/0": 17, "canonical/1": 9, "store.quarantine/0": 3}'),
                ('store', 1, 0, '{"canonical/0": 11, "canonical/1": 5, "store.quarantine/0": 0}'),
                ('social', 3, 77, '{}')
            """))
        {
            await old.ExecuteNonQueryAsync();
        }

        Assert.Contains("0102_ingest_offsets_in_consumer_offsets", await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance)
            .MigrateAsync(Migration.FromAssemblies(typeof(MigrationRunner).Assembly, typeof(IngestPipeline).Assembly)));

        // What the runtime resumes each partition from, and what the recovery scan starts from.
        Assert.Equal(new Dictionary<(string, int), long> { [("store", 0)] = 4200, [("store", 1)] = 0, [("social", 3)] = 77 },
            ConsumerOffsets.Load(dataSource, IngestWorker.Consumer));
        var loaded = Loaded(dataSource, [("store", 0), ("store", 1), ("social", 3), ("social", 0)]);
        Assert.Equal(
        [
            ("social", 3, 77L, ""),
            ("store", 0, 4200L, "[canonical/0, 17],[canonical/1, 9],[store.quarantine/0, 3]"),
            ("store", 1, 0L, "[canonical/0, 11],[canonical/1, 5],[store.quarantine/0, 0]"),
        ], loaded);

        // One offset store: the old table is gone, not left behind to disagree.
        await using var table = dataSource.CreateCommand("select to_regclass('ingest_checkpoints') is null");
        Assert.True((bool)(await table.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task SaveCheckpoints_PartitionsSharingMarksAndOneHeldBack_EachLoadsItsOwnMarks()
    {
        await using var dataSource = await MigratedAsync();
        var partitions = new[] { ("store", 0), ("store", 1), ("social", 2) };
        var epochs = PartitionEpochs.Claim(dataSource, IngestWorker.Consumer, partitions);
        // Two partitions share one set of marks (stored as one document); the third is held back by the recovery scan.
        IReadOnlyDictionary<string, long> shared = new Dictionary<string, long> { ["canonical/0"] = 17, ["store.quarantine/0"] = 3 };
        IReadOnlyDictionary<string, long> heldBack = new Dictionary<string, long> { ["canonical/0"] = 5 };
        using (var fenced = FencedTransaction.Begin(dataSource, IngestWorker.Consumer, partitions, epochs))
        {
            IngestStateRepository.SaveCheckpoints(fenced,
                [new("store", 0, 40, shared), new("social", 2, 7, heldBack), new("store", 1, 12, shared)], epochs, Now);
            fenced.Commit();
        }

        var loaded = Loaded(dataSource, partitions);
        Assert.Equal(
        [
            ("social", 2, 7L, "[canonical/0, 5]"),
            ("store", 0, 40L, "[canonical/0, 17],[store.quarantine/0, 3]"),
            ("store", 1, 12L, "[canonical/0, 17],[store.quarantine/0, 3]"),
        ], loaded);
    }

    // The checkpoints of partitions as ingest loads them, in a fixed order, each one's marks as one string.
    private static List<(string Topic, int Partition, long NextOffset, string Marks)> Loaded(NpgsqlDataSource dataSource,
        IReadOnlyCollection<(string Topic, int Partition)> partitions) =>
        [.. new IngestStateRepository(dataSource).LoadCheckpoints(partitions)
            .OrderBy(c => c.Topic, StringComparer.Ordinal).ThenBy(c => c.Partition)
            .Select(c => (c.Topic, c.Partition, c.NextOffset, string.Join(",", c.OutputMarks.OrderBy(m => m.Key, StringComparer.Ordinal))))];

    private async Task<NpgsqlDataSource> MigratedAsync(Func<Migration, bool>? upTo = null)
    {
        var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance)
            .MigrateAsync([.. Migration.FromAssemblies(typeof(MigrationRunner).Assembly, typeof(IngestPipeline).Assembly).Where(upTo ?? (_ => true))]);
        return dataSource;
    }
}
