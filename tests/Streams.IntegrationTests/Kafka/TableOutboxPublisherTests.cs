using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streams.Infrastructure.Kafka;
using Streams.Infrastructure.Postgres;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Kafka;

/// <summary>
/// The outbox publisher when a round does not finish after the broker took its rows (the process killed, PostgreSQL gone
/// before the delete commits): the next publisher finds them on the broker and does not send them again, unless that
/// would put an older record of a key after a newer one. And when another publisher's round holds the table: it waits,
/// then reads what that round left.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class TableOutboxPublisherTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private const string Table = "test_outbox";

    [Fact]
    public async Task DeleteFailingAfterTheBrokerTookTheRows_TheNextPublisherDeletesThemWithoutSendingThemAgain()
    {
        var topic = await kafka.CreateTopicAsync("outbox", partitions: 1);
        await using var dataSource = await CreateOutboxAsync();
        await InsertAsync(dataSource, topic, "a", "b", "a");

        using (var first = Publisher(dataSource))
        {
            Assert.Throws<PostgresException>(first.PublishPending);
        }

        Assert.Equal(3, Values(topic).Count);
        await ExecuteAsync(dataSource, "update refuse_delete set refuse = false");
        await InsertAsync(dataSource, topic, "b");
        using (var next = Publisher(dataSource))
        {
            next.PublishPending();
            Assert.Equal((1, 3), (next.Published, next.FoundPublished));
        }

        Assert.Equal(["a:1", "b:2", "a:3", "b:4"], Values(topic));
        Assert.All(TopicReader.ReadAll(kafka.BootstrapServers, topic), r => Assert.Equal(
            $"{Table}/{Encoding.UTF8.GetString(r.Message.Value!).Split(':')[1]}",
            Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes(TableOutboxPublisher.Header))));
        Assert.Equal(0L, await ScalarAsync(dataSource, $"select count(*) from {Table}"));
    }

    [Fact]
    public async Task RoundTakenInPart_SendsWhatIsMissing_AndAgainWhatFollowsAMissingRowOfItsKey_AndTakesNoLookAlike()
    {
        var topic = await kafka.CreateTopicAsync("outbox-part", partitions: 1);
        await using var dataSource = await CreateOutboxAsync();
        await ExecuteAsync(dataSource, "update refuse_delete set refuse = false");
        await ExecuteAsync(dataSource, $"insert into outbox_marks values ('{Table}', '{topic}', 0, 0)");
        await InsertAsync(dataSource, topic, "a", "a", "c", "d");
        // An unfinished round read all four; the broker kept a's second, c's, and a look-alike of d's with other bytes.
        await ExecuteAsync(dataSource, $"select setval('{Table}_read_mark', 4)");
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            foreach (var (seq, value) in new[] { (2, "a:2"), (3, "c:3"), (4, "d:4 forged") })
            {
                producer.Produce(topic, new Message<byte[], byte[]>
                {
                    Key = Encoding.UTF8.GetBytes(value[..1]), Value = Encoding.UTF8.GetBytes(value),
                    Headers = new Headers { { TableOutboxPublisher.Header, Encoding.UTF8.GetBytes($"{Table}/{seq}") } },
                });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        using (var publisher = Publisher(dataSource))
        {
            publisher.PublishPending();
            Assert.Equal((3, 1), (publisher.Published, publisher.FoundPublished));
        }

        // a:1 was missing, so a:2 goes again after it and stays a's last record; c is not repeated; d's look-alike is not d.
        Assert.Equal(["a:2", "c:3", "d:4 forged", "a:1", "a:2", "d:4"], Values(topic));
    }

    [Fact]
    public async Task AnotherPublisherHoldingTheLock_IsWaitedFor_AndWhatItDeletedIsNotSentAgain()
    {
        var topic = await kafka.CreateTopicAsync("outbox-lock", partitions: 1);
        await using var dataSource = await CreateOutboxAsync();
        await ExecuteAsync(dataSource, "update refuse_delete set refuse = false");
        await InsertAsync(dataSource, topic, "a", "b");

        // Another publisher's round: it holds the table's lock and has deleted row 1 (sent), not yet committed.
        await using var other = await dataSource.OpenConnectionAsync();
        await using var round = await other.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand($"select pg_advisory_xact_lock(hashtext('{Table}')); delete from {Table} where seq = 1", other, round))
        {
            await command.ExecuteNonQueryAsync();
        }

        using var publisher = Publisher(dataSource);
        var publishing = Task.Run(publisher.PublishPending);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(publishing.IsCompleted);
        await round.CommitAsync();
        await publishing.WaitAsync(TimeSpan.FromSeconds(30));

        // Read after the lock was granted, so after the other round's delete: row 1 is not sent a second time.
        Assert.Equal(["b:2"], Values(topic));
        Assert.Equal(0L, await ScalarAsync(dataSource, $"select count(*) from {Table}"));
    }

    private TableOutboxPublisher Publisher(NpgsqlDataSource dataSource) =>
        new(dataSource, Table, kafka.BootstrapServers, "outbox-test", NullLogger.Instance);

    // The shared migrations (outbox_marks), and an outbox table whose deletes fail until refuse_delete.refuse is false.
    private async Task<NpgsqlDataSource> CreateOutboxAsync()
    {
        var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync();
        await ExecuteAsync(dataSource, $"""
            create table {Table} (seq bigserial primary key, topic text not null, key bytea, value bytea, traceparent text);
            create sequence {Table}_read_mark as bigint minvalue 0 start with 0;
            create table refuse_delete (refuse boolean not null);
            insert into refuse_delete values (true);
            create function refuse_delete() returns trigger language plpgsql as $$
            begin
              if (select refuse from refuse_delete) then raise exception 'delete refused by the test'; end if;
              return old;
            end $$;
            create trigger refuse_delete before delete on {Table} for each row execute function refuse_delete();
            """);
        return dataSource;
    }

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return await command.ExecuteScalarAsync();
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
