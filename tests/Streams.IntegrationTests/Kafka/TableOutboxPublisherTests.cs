using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streams.Infrastructure.Kafka;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Kafka;

/// <summary>
/// The outbox publisher when its delete fails after the broker took the rows: PostgreSQL going away between the two
/// ends the worker's session, and the next session's publisher must not send those rows a second time.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class TableOutboxPublisherTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const string Table = "test_outbox";

    [Fact]
    public async Task DeleteFailingAfterTheBrokerTookTheRows_TheNextSessionDeletesThemWithoutSendingThemAgain()
    {
        var topic = await kafka.CreateTopicAsync("outbox", partitions: 1);
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await CreateRefusingOutboxAsync(dataSource);
        await InsertAsync(dataSource, topic, "a", "b", "a");

        var acknowledged = new AcknowledgedOutboxRows();
        using (var first = new TableOutboxPublisher(dataSource, Table, kafka.BootstrapServers, "outbox-test", NullLogger.Instance, acknowledged))
        {
            Assert.Throws<PostgresException>(first.PublishPending);
        }

        Assert.Equal(3, Values(topic).Count);
        await ExecuteAsync(dataSource, "update refuse_delete set refuse = false");
        await InsertAsync(dataSource, topic, "b");
        using (var next = new TableOutboxPublisher(dataSource, Table, kafka.BootstrapServers, "outbox-test", NullLogger.Instance, acknowledged))
        {
            next.PublishPending();
            Assert.Equal(1, next.Published);
        }

        Assert.Equal(["a:1", "b:2", "a:3", "b:4"], Values(topic));
        await using var count = dataSource.CreateCommand($"select count(*) from {Table}");
        Assert.Equal(0L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task DeleteFailing_WithoutSharedMemory_SendsTheRowsAgain_InOrder()
    {
        // What a crash between the acknowledgement and the delete still does: a repeat, never a gap, never out of order.
        var topic = await kafka.CreateTopicAsync("outbox-crash", partitions: 1);
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await CreateRefusingOutboxAsync(dataSource);
        await InsertAsync(dataSource, topic, "a", "b");
        using (var first = new TableOutboxPublisher(dataSource, Table, kafka.BootstrapServers, "outbox-test", NullLogger.Instance))
        {
            Assert.Throws<PostgresException>(first.PublishPending);
        }

        await ExecuteAsync(dataSource, "update refuse_delete set refuse = false");
        using (var next = new TableOutboxPublisher(dataSource, Table, kafka.BootstrapServers, "outbox-test", NullLogger.Instance))
        {
            next.PublishPending();
        }

        Assert.Equal(["a:1", "b:2", "a:1", "b:2"], Values(topic));
    }

    // An outbox table whose deletes fail until refuse_delete.refuse is set to false.
    private static Task CreateRefusingOutboxAsync(NpgsqlDataSource dataSource) => ExecuteAsync(dataSource, $"""
        create table {Table} (seq bigserial primary key, topic text not null, key bytea, value bytea, traceparent text);
        create table refuse_delete (refuse boolean not null);
        insert into refuse_delete values (true);
        create function refuse_delete() returns trigger language plpgsql as $$
        begin
          if (select refuse from refuse_delete) then raise exception 'delete refused by the test'; end if;
          return old;
        end $$;
        create trigger refuse_delete before delete on {Table} for each row execute function refuse_delete();
        """);

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    // Each value names its key and its row's sequence number.
    private static async Task InsertAsync(NpgsqlDataSource dataSource, string topic, params string[] keys)
    {
        foreach (var key in keys)
        {
            await using var command = dataSource.CreateCommand(
                $"with s as (select nextval(pg_get_serial_sequence('{Table}', 'seq')) as n) " +
                $"insert into {Table} (seq, topic, key, value) select n, @topic, convert_to(@key, 'UTF8'), convert_to(@key || ':' || n, 'UTF8') from s");
            command.Parameters.Add(new NpgsqlParameter<string>("topic", topic));
            command.Parameters.Add(new NpgsqlParameter<string>("key", key));
            await command.ExecuteNonQueryAsync();
        }
    }

    private List<string> Values(string topic) =>
        [.. TopicReader.ReadAll(kafka.BootstrapServers, topic).OrderBy(r => r.Offset.Value).Select(r => Encoding.UTF8.GetString(r.Message.Value!))];
}
