using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streams.Contracts;
using Streams.Infrastructure.Postgres;
using Streams.Ingest;
using Streams.IntegrationTests.Fixtures;
using Streams.Quality.Stewardship;
using StewardshipService = Streams.Quality.Stewardship.Stewardship;

namespace Streams.IntegrationTests.Stewardship;

/// <summary>The replay claim and a read past retention, on a real PostgreSQL and the run's broker, without a host.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class StewardshipStoreTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ClaimReplay_EightStewardsAtOnce_ExactlyOneHoldsIt_AndEveryAskIsAudited()
    {
        await using var dataSource = await MigratedAsync();
        var source = new SourcePosition("store", 1, 42);
        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            StewardshipRepository.ClaimReplayAsync(dataSource, Now, $"steward-{i}", StewardshipRepository.Replay, source, "e-1", default))));
        Assert.Single(claims, c => c.Claimed);
        var audit = await StewardshipRepository.AuditListAsync(dataSource, new StewardAuditQuery(), default);
        Assert.Equal(8, audit.Count);
        Assert.Equal(7, audit.Count(e => e.Outcome == "already_replayed"));
    }

    [Fact]
    public async Task Original_NoLongerOnItsTopic_IsPastRetention_AndItsReplayCanBeAskedAgain()
    {
        await using var dataSource = await MigratedAsync();
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        // Indexed, but the topic holds nothing at that offset (an empty partition: the record was deleted long ago).
        var gone = new SourcePosition(topics.Names.Store, 0, 5);
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            StewardshipRepository.SaveIndex(connection, transaction,
                [new IndexedQuarantine(gone, "e-5", "quarantined", [new QuarantineReason("unknown_currency", "currency", "not an ISO 4217 code")], null, Now)],
                [], new Dictionary<(string Topic, int Partition), long>(), Now);
            await transaction.CommitAsync();
        }

        using var stewardship = new StewardshipService(() => dataSource, () => kafka.BootstrapServers, topics.Catalog,
            new StewardshipOptions { ReadTimeout = TimeSpan.FromSeconds(5) }, TimeProvider.System, NullLogger<StewardshipService>.Instance);
        var original = await stewardship.ReadOriginalAsync(gone, "steward-ops", default);
        Assert.True(original.PastRetention);
        Assert.Null(original.ValueJson);
        Assert.Equal(ReplayStatus.PastRetention, (await stewardship.ReplayAsync(gone, "steward-ops", null, default)).Status);
        Assert.Equal(ReplayStatus.PastRetention, (await stewardship.ReplayAsync(gone, "steward-ops", null, default)).Status);
        Assert.Equal(ReplayStatus.NotQuarantined, (await stewardship.ReplayAsync(gone with { Offset = 6 }, "steward-ops", null, default)).Status);
        await Assert.ThrowsAsync<ArgumentException>(() => stewardship.ReplayAsync(gone, "ada@example.org", null, default));
        Assert.Equal(["view_original:past_retention", "replay:past_retention", "replay:past_retention", "replay:not_quarantined"],
            (await stewardship.AuditAsync(new StewardAuditQuery(), default)).OrderBy(e => e.Id).Select(e => $"{e.Action}:{e.Outcome}"));
    }

    private async Task<NpgsqlDataSource> MigratedAsync()
    {
        var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(Migration.FromAssemblies(
            typeof(MigrationRunner).Assembly, typeof(IngestPipeline).Assembly, typeof(StewardshipRepository).Assembly));
        return dataSource;
    }
}
