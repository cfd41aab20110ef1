using Npgsql;
using Streams.Infrastructure.Hosting;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Host;

/// <summary>The host's one data source prepares a statement its connection runs again and again.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class AutomaticPreparationTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task TheHostsDataSource_KeepsARepeatedStatementPrepared_OnItsConnection()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics);
        await using var connection = await host.Get<StreamsEnvironment>().DataSource.OpenConnectionAsync();
        const string repeated = "select count(*) from consumer_offsets where consumer = $1";
        for (var i = 0; i < 6; i++)
        {
            await using var command = new NpgsqlCommand(repeated, connection) { Parameters = { new NpgsqlParameter<string> { TypedValue = "nobody" } } };
            Assert.Equal(0L, await command.ExecuteScalarAsync());
        }

        await using var prepared = new NpgsqlCommand("select count(*) from pg_prepared_statements where statement = $1", connection)
        {
            Parameters = { new NpgsqlParameter<string> { TypedValue = repeated } },
        };
        Assert.Equal(1L, await prepared.ExecuteScalarAsync());
    }
}
