using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Postgres;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Worker;
using Streams.IntegrationTests.Fixtures;
using Options = Microsoft.Extensions.Options.Options;

namespace Streams.IntegrationTests.Ingest;

/// <summary>
/// Which occurrence of a repeated event id keeps it, against the claims in a real PostgreSQL: the first in input order,
/// unless a later one already holds the claim from an attempt before a crash that read the records in another order.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class RecordJudgeTests(PostgresFixture postgres)
{
    private static readonly TopicCatalog Catalog = new(new TopicsOptions());

    [Fact]
    public async Task RepeatsInOneBatch_TheFirstKeepsTheId_LaterOnesAreDuplicates()
    {
        await using var dataSource = await MigratedAsync();
        var judged = Judge(dataSource, Record(0, 3, "e-1"), Record(1, 5, "e-1"), Record(2, 9, "e-1"));

        Assert.Equal([false, true, true], judged.Select(j => j.Duplicate));
    }

    [Fact]
    public async Task BatchReadAgainInAnotherOrder_TheRepeatThatHoldsTheClaimKeepsIt_AndTheFirstIsTheDuplicate()
    {
        await using var dataSource = await MigratedAsync();

        // Before the crash: partition 1's record was read first and claimed the id; its outputs and offsets never committed.
        Assert.Equal([false], Judge(dataSource, Record(1, 5, "e-1")).Select(j => j.Duplicate));

        // After it: partition 0's later copy of the event comes first this time. The holder keeps the id, as the first
        // reading judged it, so exactly one of the two is a duplicate and it is the same record both times.
        var judged = Judge(dataSource, Record(0, 3, "e-1"), Record(1, 5, "e-1"), Record(2, 9, "e-1"));

        Assert.Equal([true, false, true], judged.Select(j => j.Duplicate));
        Assert.All(judged, j => Assert.Equal(IngestDisposition.Accepted, j.Disposition));
    }

    [Fact]
    public async Task AnIdHeldByARecordOutsideTheBatch_MakesEveryOccurrenceInTheBatchADuplicate()
    {
        await using var dataSource = await MigratedAsync();
        Judge(dataSource, Record(3, 1, "e-1"));

        var judged = Judge(dataSource, Record(0, 3, "e-1"), Record(1, 5, "e-1"));

        Assert.Equal([true, true], judged.Select(j => j.Duplicate));
    }

    private static Judgement[] Judge(NpgsqlDataSource dataSource, params ConsumeResult<byte[]?, byte[]?>[] batch)
    {
        var keys = new PseudonymizationOptions { ActiveKeyId = "k1" };
        keys.Keys["k1"] = InProcessHost.TestKey;
        var pipeline = new IngestPipeline(new Pseudonymizer(Options.Create(keys)), Options.Create(new IngestOptions()), TimeProvider.System);
        return new RecordJudge(pipeline, Catalog, TimeSpan.FromDays(7), TimeProvider.System).Judge(batch, dataSource);
    }

    private static ConsumeResult<byte[]?, byte[]?> Record(int partition, long offset, string eventId) => new()
    {
        TopicPartitionOffset = new TopicPartitionOffset(Catalog.Names.Store, partition, offset),
        Message = new Message<byte[]?, byte[]?>
        {
            Key = Encoding.UTF8.GetBytes("customer-1"),
            Value = Encoding.UTF8.GetBytes(SampleEvents.Store(eventId, loyaltyId: "L-1001")),
        },
    };

    private async Task<NpgsqlDataSource> MigratedAsync()
    {
        var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance)
            .MigrateAsync(Migration.FromAssemblies(typeof(MigrationRunner).Assembly, typeof(IngestPipeline).Assembly));
        return dataSource;
    }
}
