using Npgsql;
using Streams.Infrastructure.Telemetry;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Postgres;

/// <summary>The outbox depth gauge's reading (<see cref="RuntimeSampler.DepthAsync"/>).</summary>
[Collection(IntegrationCollection.Name)]
public sealed class OutboxDepthTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Depth_IsExactUpToTheLimit_ThenTheSpanOfRowNumbers_AndNeverReadsTheHeapWhole()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(database);
        await using var connection = await dataSource.OpenConnectionAsync();
        await Database.ExecuteAsync(database, """create table "some_outbox" (seq bigserial primary key, topic text not null, key bytea, value bytea)""");
        Assert.Equal(0, await RuntimeSampler.DepthAsync(connection, "some_outbox", 10, default));

        // 25 rows, 5 of them gone from the middle (an erasure's delete), the first 3 published: 17 waiting.
        await Database.ExecuteAsync(database, """
            insert into some_outbox (topic) select 't' from generate_series(1, 25);
            delete from some_outbox where seq between 10 and 14 or seq <= 3;
            """);
        Assert.Equal(17, await RuntimeSampler.DepthAsync(connection, "some_outbox", 17, default));
        Assert.Equal(17, await RuntimeSampler.DepthAsync(connection, "some_outbox", 100, default));
        // Past the limit: rows 4–25, an upper bound, never less than what waits.
        Assert.Equal(22, await RuntimeSampler.DepthAsync(connection, "some_outbox", 16, default));

        // Deep, with the heap holding many more versions than wait: the statement reads the key's ends and at most the
        // limit's rows, never the heap whole.
        await Database.ExecuteAsync(database, """
            insert into some_outbox (topic) select 't' from generate_series(1, 200000);
            delete from some_outbox where seq between 30 and 150000;
            analyze some_outbox;
            """);
        // 50,046 waiting, past the limit: the span of rows 4–200,025.
        Assert.Equal(200_022, await RuntimeSampler.DepthAsync(connection, "some_outbox", 10_000, default));
        await using var explain = new NpgsqlCommand("explain (format json) " + RuntimeSampler.DepthStatement("some_outbox"), connection)
        {
            Parameters = { new NpgsqlParameter<int>("exact", 10_000) },
        };
        var plan = (string)(await explain.ExecuteScalarAsync())!;
        Assert.DoesNotContain("Seq Scan", plan, StringComparison.Ordinal);
        Assert.Contains("some_outbox_pkey", plan, StringComparison.Ordinal);
    }
}
