using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streams.Contracts.Profiles;
using Streams.Contracts.Topics;
using Streams.Infrastructure.Postgres;
using Streams.IntegrationTests.Fixtures;
using Streams.Segmentation;
using Streams.Segmentation.Engine;
using Streams.Segmentation.Model;
using Streams.Segmentation.Store;

namespace Streams.IntegrationTests.Segmentation;

/// <summary>The model's checkpoint in PostgreSQL: the JSON part, the sample's rows, and the copy kept in memory.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class SegmentationCheckpointStoreTests(PostgresFixture postgres)
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Save_ThenLoadElsewhere_RoundTripsTheCheckpoint_AndRewritesOnlyTheSampleSlotsThatChanged()
    {
        await using var dataSource = await MigratedAsync();
        var engine = Engine();
        var checkpoint = Trained(engine, batches: 3);
        Assert.NotNull(checkpoint.Model);
        Assert.Contains(checkpoint.Profiles.Items, i => i.Raw.Any(double.IsNaN));

        var writer = new SegmentationCheckpointStore();
        Commit(dataSource, writer, stored =>
        {
            Assert.Equal(0, stored.Generation);
            Replace(stored.Checkpoint, checkpoint);
        });
        Assert.Equal(Json(checkpoint), Json(LoadFresh(dataSource)));
        Assert.True(await CountAsync(dataSource, "select octet_length(checkpoint::text) from segmentation_model") < 64 * 1024);
        Assert.Equal(checkpoint.Profiles.Items.Length, await CountAsync(dataSource, "select count(*) from segmentation_sample"));

        // One more mini-batch, from the copy kept in memory: the rows written are the slots it changed, not the sample.
        var changedSlots = 0;
        Commit(dataSource, writer, stored =>
        {
            var before = stored.Checkpoint.Profiles.Items;
            engine.Apply(stored.Checkpoint, [], [], Updates(1_000, 40), Now);
            var after = stored.Checkpoint.Profiles.Items;
            changedSlots = Enumerable.Range(0, after.Length).Count(s => s >= before.Length || !ReferenceEquals(before[s], after[s]));
            checkpoint = stored.Checkpoint;
        });
        Assert.InRange(changedSlots, 1, 100);
        Assert.Equal(changedSlots, await CountAsync(dataSource,
            "select count(*) from segmentation_sample where xmin::text = (select xmin::text from segmentation_model)"));
        Assert.Equal(Json(checkpoint), Json(LoadFresh(dataSource)));

        // A smaller sample (profiles gone): the slots past its end go.
        Commit(dataSource, writer, stored =>
        {
            foreach (var item in stored.Checkpoint.Profiles.Items.Take(5).ToList())
            {
                engine.Apply(stored.Checkpoint, [], [], [new ProfileUpdate(item.ProfileId, null, false)], Now);
            }

            checkpoint = stored.Checkpoint;
        });
        Assert.Equal(checkpoint.Profiles.Items.Length, await CountAsync(dataSource, "select count(*) from segmentation_sample"));
        Assert.Equal(Json(checkpoint), Json(LoadFresh(dataSource)));
        Assert.Equal(1, writer.Reads);
    }

    [Fact]
    public async Task Load_AnOlderReleasesCheckpoint_WithItsSampleInTheJson_ContinuesFromIt_AndItsFirstSaveMovesTheSampleToRows()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var migrations = Migrations();
        var runner = new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance);
        await runner.MigrateAsync([.. migrations.Where(m => string.CompareOrdinal(m.Id, "0303") < 0)]);
        // As the older release stored it: the whole checkpoint, sample included, as one JSON document.
        var engine = Engine();
        var old = Trained(engine, batches: 3);
        await using (var insert = dataSource.CreateCommand("insert into segmentation_model (id, checkpoint, updated_at) values (1, @json::json, now())"))
        {
            insert.Parameters.Add(new NpgsqlParameter<string>("json", JsonSerializer.Serialize(old, SegmentationJsonContext.Default.SegmentationCheckpoint)));
            await insert.ExecuteNonQueryAsync();
        }

        Assert.Contains("0303_segmentation_sample_rows", await runner.MigrateAsync(migrations));

        var store = new SegmentationCheckpointStore();
        var expected = Json(old);
        Commit(dataSource, store, stored =>
        {
            Assert.Equal(expected, Json(stored.Checkpoint));
            engine.Apply(stored.Checkpoint, [], [], Updates(2_000, 30), Now);
            engine.Apply(old, [], [], Updates(2_000, 30), Now);
        });

        Assert.Equal(Json(old), Json(LoadFresh(dataSource)));
        Assert.Equal(old.Profiles.Items.Length, await CountAsync(dataSource, "select count(*) from segmentation_sample"));
        Assert.Equal(0, await CountAsync(dataSource, "select json_array_length(checkpoint->'profiles'->'items') from segmentation_model"));
    }

    [Fact]
    public async Task Upgrade_AssignmentsStoredAsJsonb_AreReadBackAfterMigration0304_AndOnlyTheUnpublishedOfTheVersionWait()
    {
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        var migrations = Migrations();
        var runner = new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance);
        await runner.MigrateAsync([.. migrations.Where(m => string.CompareOrdinal(m.Id, "0304") < 0)]);
        await using (var insert = dataSource.CreateCommand("""
            insert into segment_assignments (profile_id, raw, segment_id, model_version, published, assignment, assigned_at) values
                ('p-1', '{1.5,2}', 3, 7, true, '{"summary": "Buys shoes.", "segment_id": 3}', now()),
                ('p-2', '{3,4}', 3, 7, false, '{"summary": "Buys hats.", "segment_id": 3}', now()),
                ('p-3', '{5,6}', 3, 6, false, null, null)
            """))
        {
            await insert.ExecuteNonQueryAsync();
        }

        Assert.Contains("0304_segment_assignments_hot_path_storage", await runner.MigrateAsync(migrations));

        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var rows = SegmentationRepository.LoadRows(connection, transaction, ["p-1", "p-2", "p-3"]);
        Assert.Equal([1.5, 2], rows["p-1"].Raw);
        Assert.Equal(["p-3", "p-1", "p-2"], SegmentationRepository.LoadStale(connection, transaction, 8, 10).Select(r => r.ProfileId));
        Assert.Equal("Buys shoes.", JsonDocument.Parse((await SegmentDirectory.AssignmentJsonAsync(dataSource, "p-1", default))!).RootElement.GetProperty("summary").GetString());
        Assert.Null(await SegmentDirectory.AssignmentJsonAsync(dataSource, "p-3", default));
        var waiting = Assert.Single(SegmentationRepository.LoadWaiting(connection, transaction, [3], 7));
        Assert.Equal("p-2", waiting.ProfileId);
        Assert.Equal("Buys hats.", JsonDocument.Parse(waiting.Assignment!).RootElement.GetProperty("summary").GetString());
    }

    /// <summary>
    /// A mini-batch's rows are loaded without their assignment (each is assigned again or deleted), so a row saved without
    /// a new one, as before the first seed after an older release's model was retired, must keep the stored assignment;
    /// and so must a row whose segment did not change (the engine makes no new record for it), with the time it was made.
    /// </summary>
    [Fact]
    public async Task Save_ALoadedRowWithoutANewAssignment_KeepsTheStoredOne()
    {
        await using var dataSource = await MigratedAsync();
        await using (var insert = dataSource.CreateCommand("""
            insert into segment_assignments (profile_id, raw, segment_id, model_version, published, assignment, assigned_at)
            values ('p-1', '{1.5,2}', 3, 7, true, '{"summary": "Buys shoes."}', '2026-12-01T08:00:00Z')
            """))
        {
            await insert.ExecuteNonQueryAsync();
        }

        await using var connection = await dataSource.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            var row = SegmentationRepository.LoadRows(connection, transaction, ["p-1"])["p-1"];
            Assert.Null(row.Assignment);
            row.Raw = [2.5, 3];
            var changes = new MiniBatchChanges();
            changes.Upserts.Add(row);
            SegmentationRepository.Save(connection, transaction, [], changes, [], new Dictionary<(string, int), long>(), Now);
            await transaction.CommitAsync();
        }

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            var stored = Assert.Single(SegmentationRepository.LoadStale(connection, transaction, 8, 10));
            Assert.Equal([2.5, 3], stored.Raw);
        }

        Assert.Equal("Buys shoes.", JsonDocument.Parse((await SegmentDirectory.AssignmentJsonAsync(dataSource, "p-1", default))!).RootElement.GetProperty("summary").GetString());
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(),
            await CountAsync(dataSource, "select extract(epoch from assigned_at)::bigint from segment_assignments"));
    }

    [Fact]
    public async Task Load_WhenAnotherInstanceWroteSince_ReadsItsCheckpoint_OtherwiseUsesTheModelInMemory()
    {
        await using var dataSource = await MigratedAsync();
        var engine = Engine();
        var first = new SegmentationCheckpointStore();
        var second = new SegmentationCheckpointStore();
        Commit(dataSource, first, stored => Replace(stored.Checkpoint, Trained(engine, batches: 3)));
        Commit(dataSource, first, stored => engine.Apply(stored.Checkpoint, [], [], Updates(3_000, 20), Now));
        Assert.Equal(1, first.Reads);

        // Another instance (a rebalance) applies a mini-batch to the model: the first one's copy is stale now.
        SegmentationCheckpoint advanced = null!;
        Commit(dataSource, second, stored =>
        {
            engine.Apply(stored.Checkpoint, [], [], Updates(4_000, 50), Now);
            advanced = stored.Checkpoint;
        });

        Commit(dataSource, first, stored =>
        {
            Assert.Equal(Json(advanced), Json(stored.Checkpoint));
            engine.Apply(stored.Checkpoint, [], [], Updates(5_000, 20), Now);
        });
        Assert.Equal(2, first.Reads);

        // A mini-batch that changed the model in memory and then failed leaves nothing behind: the next load reads the database.
        var committed = Json(LoadFresh(dataSource));
        using (var connection = dataSource.OpenConnection())
        using (var transaction = connection.BeginTransaction())
        {
            engine.Apply(first.Load(connection, transaction).Checkpoint, [], [], Updates(6_000, 20), Now);
        }

        Commit(dataSource, first, stored => Assert.Equal(committed, Json(stored.Checkpoint)));
        Assert.Equal(3, first.Reads);
    }

    private static SegmentationEngine Engine() =>
        new(new SegmentationOptions { K = 3, SeedSize = 60, SampleSize = 200, MinSegmentSize = 5, MinEvents = 0 }, new TopicCatalog(new TopicsOptions()));

    // A checkpoint with a model, a scaling, a sample with missing values (NaN) and a catalog.
    private static SegmentationCheckpoint Trained(SegmentationEngine engine, int batches)
    {
        var checkpoint = SegmentationCheckpoint.Empty();
        for (var b = 0; b < batches; b++)
        {
            engine.Apply(checkpoint, [], [], Updates(b * 100, 100), Now);
        }

        return checkpoint;
    }

    // Profiles of three kinds; ids from `first` on, so later batches bring new profiles into the sample.
    private static List<ProfileUpdate> Updates(int first, int count) =>
    [
        .. Enumerable.Range(first, count).Select(i => new ProfileUpdate($"p{i}", (i % 3) switch
        {
            0 => new Dictionary<string, double> { ["event_count"] = 10 + i % 7, ["store_spend"] = 500 + i % 50, ["online_share"] = 0.1 },
            1 => new Dictionary<string, double> { ["event_count"] = 40 + i % 5, ["online_spend"] = 300 + i % 30, ["online_share"] = 0.9 },
            _ => new Dictionary<string, double> { ["event_count"] = 5 + i % 3, ["call_count"] = 8 + i % 4, ["avg_call_sentiment"] = -0.5 },
        }, true)),
    ];

    private static void Replace(SegmentationCheckpoint target, SegmentationCheckpoint source)
    {
        target.Model = source.Model;
        target.Scaler = source.Scaler;
        target.Profiles = source.Profiles;
        target.MiniBatches = source.MiniBatches;
        target.SeededAt = source.SeededAt;
        target.SampleUpdates = source.SampleUpdates;
        target.SampleUpdatesAtSeed = source.SampleUpdatesAtSeed;
        target.CatalogSizes = source.CatalogSizes;
        target.Settling = source.Settling;
    }

    // One mini-batch's transaction as the worker runs it: load, change, write, commit, keep.
    private static void Commit(NpgsqlDataSource dataSource, SegmentationCheckpointStore store, Action<StoredCheckpoint> change)
    {
        using var connection = dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        var stored = store.Load(connection, transaction);
        change(stored);
        using (var batch = new NpgsqlBatch(connection, transaction))
        {
            foreach (var command in SegmentationCheckpointStore.Write(stored, Now))
            {
                batch.BatchCommands.Add(command);
            }

            batch.ExecuteNonQuery();
        }

        transaction.Commit();
        store.Keep(stored);
    }

    private static SegmentationCheckpoint LoadFresh(NpgsqlDataSource dataSource)
    {
        using var connection = dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        return new SegmentationCheckpointStore().Load(connection, transaction).Checkpoint;
    }

    private static string Json(SegmentationCheckpoint checkpoint) =>
        JsonSerializer.Serialize(checkpoint, SegmentationJsonContext.Default.SegmentationCheckpoint);

    private static IReadOnlyList<Migration> Migrations() =>
        Migration.FromAssemblies(typeof(MigrationRunner).Assembly, typeof(SegmentationExtensions).Assembly);

    private async Task<NpgsqlDataSource> MigratedAsync()
    {
        var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(Migrations());
        return dataSource;
    }

    private static async Task<long> CountAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
