using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streams.Infrastructure.Postgres;
using Streams.Ingest.Worker;
using Streams.IntegrationTests.Fixtures;
using Streams.Profiles.Store;

namespace Streams.IntegrationTests.Postgres;

/// <summary>
/// The rows every batch rewrites whole (profiles, ingest's output marks, every worker's offsets) keep room on their pages
/// for the new versions, so the update stays on the page (heap-only: no index entry, no other page; migrations 0003,
/// 0104, 0240). Each table is filled past a page and a batch's worth of its rows rewritten in one transaction, as the
/// workers do; PostgreSQL's count of the transaction's heap-only updates must be every row rewritten.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class HotRowStorageTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Profiles_ABatchsRewrittenProfiles_StayOnTheirPages()
    {
        await using var dataSource = await MigratedAsync();
        // 300 profiles of about 900 bytes (a dozen pages); a batch rewrites one profile of each page, whole.
        await ExecuteAsync(dataSource, """
            insert into profiles (profile_id, first_seen, last_seen, aggregate, personalization_allowed, version, updated_at, pseudonyms)
            select 'p-' || g, now(), now(), json_build_object('spend', repeat('1', 800)), true, 1, now(), array['k1:' || g]
            from generate_series(1, 300) g
            """);

        var (updated, heapOnly) = await RewriteAsync(dataSource, "profiles", """
            update profiles set last_seen = now(), aggregate = json_build_object('spend', repeat('2', 800)), version = version + 1,
                updated_at = now()
            where ctid = any(array(select ctid from profiles where (ctid::text::point)[1] = 1))
            """);

        Assert.True(updated >= 10, $"{updated} rows rewritten");
        Assert.Equal(updated, heapOnly);
    }

    [Fact]
    public async Task IngestOutputMarks_EveryPartitionsMarksRewritten_StayOnTheirPages()
    {
        await using var dataSource = await MigratedAsync();
        // Ingest's 80 input partitions, each with the marks of 40 output partitions; every batch rewrites all of them.
        var marks = "{" + string.Join(',', Enumerable.Range(0, 40).Select(p => $"\"canonical.events/{p}\":{1_000_000 + p}")) + "}";
        await ExecuteAsync(dataSource, $"""
            insert into ingest_output_marks (topic, partition, output_marks, updated_at)
            select 'raw.store', g, '{marks}'::json, now() from generate_series(0, 79) g
            """);

        var (updated, heapOnly) = await RewriteAsync(dataSource, "ingest_output_marks",
            $"update ingest_output_marks set output_marks = '{marks.Replace("1000", "2000", StringComparison.Ordinal)}'::json, updated_at = now()");

        Assert.Equal(80, updated);
        Assert.Equal(updated, heapOnly);
    }

    /// <summary>
    /// Marks of the size the pipeline writes (six output topics of 16 partitions, about 3 KB) are stored as written, not
    /// compressed once per row of every batch (migration 0105), and their updates stay on their pages too.
    /// </summary>
    [Fact]
    public async Task IngestOutputMarks_OfEveryOutputPartition_AreStoredUncompressed_AndStayOnTheirPages()
    {
        await using var dataSource = await MigratedAsync();
        var topics = new[] { "streams.canonical-events", "clickstream.quarantine", "store.quarantine", "callcenter.quarantine", "social.quarantine", "consent.quarantine" };
        string Marks(long from) =>
            "{" + string.Join(',', topics.SelectMany(t => Enumerable.Range(0, 16).Select(p => $"\"{t}/{p}\":{from + (37 * p)}"))) + "}";
        var marks = Marks(1_000_000);
        Assert.True(marks.Length > 3000, $"{marks.Length} bytes of marks");
        await ExecuteAsync(dataSource, $"""
            insert into ingest_output_marks (topic, partition, output_marks, updated_at)
            select 'store', g, '{marks}'::json, now() from generate_series(0, 79) g
            """);

        var (updated, heapOnly) = await RewriteAsync(dataSource, "ingest_output_marks",
            $"update ingest_output_marks set output_marks = '{Marks(2_000_000)}'::json, updated_at = now()");

        Assert.Equal(80, updated);
        Assert.Equal(updated, heapOnly);
        await using var sizes = dataSource.CreateCommand(
            "select min(pg_column_size(output_marks)), min(octet_length(output_marks::text)) from ingest_output_marks");
        await using var reader = await sizes.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.True(reader.GetInt32(0) >= reader.GetInt32(1), $"stored in {reader.GetInt32(0)} of {reader.GetInt32(1)} bytes");
    }

    [Fact]
    public async Task ConsumerOffsets_ABatchsPartitionsMoved_StayOnTheirPages()
    {
        await using var dataSource = await MigratedAsync();
        // Four consumers of 80 partitions; a batch of one consumer moves all of its partitions' offsets.
        await ExecuteAsync(dataSource, """
            insert into consumer_offsets (consumer, topic, partition, next_offset, updated_at)
            select c, 'canonical.events', g, 0, now() from unnest(array['ingest', 'profiles', 'segmentation', 'activation']) c
            cross join generate_series(0, 79) g
            """);

        var (updated, heapOnly) = await RewriteAsync(dataSource, "consumer_offsets",
            "update consumer_offsets set next_offset = next_offset + 500, updated_at = now() where consumer = 'profiles'");

        Assert.Equal(80, updated);
        Assert.Equal(updated, heapOnly);
    }

    /// <summary>Runs <paramref name="update"/> in a transaction of its own: the rows it rewrote, and how many of them stayed heap-only.</summary>
    private static async Task<(long Updated, long HeapOnly)> RewriteAsync(NpgsqlDataSource dataSource, string table, string update)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(update, connection, transaction);
        long updated = await command.ExecuteNonQueryAsync();
        await using var count = new NpgsqlCommand("select pg_stat_get_xact_tuples_hot_updated(@table::regclass)", connection, transaction);
        count.Parameters.Add(new NpgsqlParameter<string>("table", table));
        var heapOnly = (long)(await count.ExecuteScalarAsync())!;
        await transaction.CommitAsync();
        return (updated, heapOnly);
    }

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<NpgsqlDataSource> MigratedAsync()
    {
        var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(Migration.FromAssemblies(
            typeof(MigrationRunner).Assembly, typeof(IngestStateRepository).Assembly, typeof(ProfileRepository).Assembly));
        return dataSource;
    }
}
