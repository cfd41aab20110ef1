using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streams.Infrastructure.Postgres;
using Streams.IntegrationTests.Fixtures;
using Streams.Ingest;
using Streams.Ingest.Worker;

namespace Streams.IntegrationTests.Ingest;

/// <summary>De-duplication claims and their expiry, on a real PostgreSQL.</summary>
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

    private async Task<NpgsqlDataSource> MigratedAsync()
    {
        var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance)
            .MigrateAsync(Migration.FromAssemblies(typeof(MigrationRunner).Assembly, typeof(IngestPipeline).Assembly));
        return dataSource;
    }
}
