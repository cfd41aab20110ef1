using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Streams.Infrastructure.Postgres;
using Streams.IntegrationTests.Fixtures;
using Streams.Ingest;
using Streams.Ingest.Worker;
using Streams.Profiles.Store;
using Streams.Profiles.Worker;

namespace Streams.IntegrationTests.Fencing;

/// <summary>An instance that has lost its partitions cannot store a checkpoint: neither effects nor offsets.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class FencingTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Checkpoint_WithAnEpochClaimedByAnotherSince_IsRefusedWhole_AndTheOffsetNeverMovesBack()
    {
        await using var dataSource = await MigratedAsync();
        await using (var setup = dataSource.CreateCommand("create table effects (n integer)"))
        {
            await setup.ExecuteNonQueryAsync();
        }

        var mine = PartitionEpochs.Claim(dataSource, "c", [("t", 0), ("t", 1)]);
        Save(dataSource, mine, [("t", 0, 10), ("t", 1, 5)], effect: 1);

        // Another instance takes partition 1: the first one's next batch is refused, its effect rolled back with it.
        var theirs = PartitionEpochs.Claim(dataSource, "c", [("t", 1)]);
        Assert.Equal(mine[("t", 1)] + 1, theirs[("t", 1)]);
        Save(dataSource, theirs, [("t", 1, 20)], effect: 2);
        var refused = Assert.Throws<PartitionFencedException>(() => Save(dataSource, mine, [("t", 0, 30), ("t", 1, 7)], effect: 3));
        Assert.Contains("t/1", refused.Message, StringComparison.Ordinal);

        Assert.Equal(new Dictionary<(string, int), long> { [("t", 0)] = 10, [("t", 1)] = 20 }, ConsumerOffsets.Load(dataSource, "c"));
        Assert.Equal(2, await CountAsync(dataSource, "select count(*) from effects"));
        Assert.Equal(0, await CountAsync(dataSource, "select count(*) from effects where n = 3"));

        // A partition never claimed is fenced too.
        Assert.Throws<PartitionFencedException>(() => Save(dataSource, mine, [("t", 2, 1)], effect: 4));
    }

    [Fact]
    public async Task NewOwnersClaim_WaitsForACheckpointPastItsCheck_ThenTheNextCheckIsRefused()
    {
        await using var dataSource = await MigratedAsync();
        var old = new PartitionOwnership(dataSource, "c");
        old.Claim([new Confluent.Kafka.TopicPartition("t", 0)]);
        var fenced = old.BeginFenced([("t", 0)]);
        // The old owner has passed its check (ingest: it is producing); the new owner's claim must wait for its end.
        var claim = Task.Run(() => PartitionEpochs.Claim(dataSource, "c", [("t", 0)]));
        await Task.Delay(500);
        Assert.False(claim.IsCompleted, "the claim did not wait for the checkpoint in progress");
        fenced.Commit();
        fenced.Dispose();
        Assert.Equal(2, (await claim.WaitAsync(Patience))[("t", 0)]);

        Assert.Throws<PartitionFencedException>(() => old.BeginFenced([("t", 0)]));
    }

    [Fact]
    public async Task Profiles_EvictedInstance_NextBatchIsRefused_WithNoEffects_ThenResumesAsTheNewOwner()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        // A long pause after the refusal, so the state it left can be looked at before the next session.
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--Streams:Workers=profiles",
            "--Profiles:RetryDelay=00:00:20", "--Profiles:MaxRetryDelay=00:00:20");
        var metrics = host.Get<ProfilesMetrics>();
        var (_, events) = CustomerGenerator.Generate(40, seed: 13, prefix: "fence");
        using var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical);
        events.Take(20).ToList().ForEach(feed.Send);
        feed.Flush();
        await WaitUntilAsync(() => metrics.Records >= 20 && Offset(host.ConnectionString) >= 20);
        var profilesBefore = await Database.CountAsync(host.ConnectionString, "select count(*) from profiles");
        var publishedBefore = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Profiles).Count;

        // Another instance claims the partition without the group telling this one: it is evicted and does not know.
        await using (var dataSource = NpgsqlDataSource.Create(host.ConnectionString))
        {
            PartitionEpochs.Claim(dataSource, ProfileRepository.Consumer, [(topics.Names.Canonical, 0)]);
        }

        events.Skip(20).ToList().ForEach(feed.Send);
        feed.Flush();
        await WaitUntilAsync(() => host.Logs.Lines.Any(l => l.Contains("checkpoint refused", StringComparison.Ordinal)));

        Assert.Equal(20, Offset(host.ConnectionString));
        Assert.Equal(profilesBefore, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
        Assert.Equal(0, await Database.CountAsync(host.ConnectionString, "select count(*) from profile_outbox"));
        await Task.Delay(500);
        Assert.Equal(publishedBefore, TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Profiles).Count);
        Assert.Equal(20, metrics.Records);
    }

    [Fact]
    public async Task Ingest_EvictedInstance_ProducesNothing_AndMovesNoCheckpoint()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--Streams:Workers=ingest",
            "--Ingest:RetryDelay=00:00:20", "--Ingest:MaxRetryDelay=00:00:20");
        var worker = host.Get<IngestWorker>();
        using var feed = new InputFeed(kafka.BootstrapServers);
        feed.Send(Enumerable.Range(0, 10).Select(i => (topics.Names.Store, SampleEvents.Store($"f-{i}", loyaltyId: $"L-{i}"))));
        await WaitUntilAsync(() => worker.RecordsCommitted >= 10);
        var outputsBefore = TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Canonical).Count;
        await using (var dataSource = NpgsqlDataSource.Create(host.ConnectionString))
        {
            PartitionEpochs.Claim(dataSource, IngestWorker.Consumer, [(topics.Names.Store, 0)]);
        }

        feed.Send(Enumerable.Range(10, 10).Select(i => (topics.Names.Store, SampleEvents.Store($"f-{i}", loyaltyId: $"L-{i}"))));
        await WaitUntilAsync(() => host.Logs.Lines.Any(l => l.Contains("checkpoint refused", StringComparison.Ordinal)));

        Assert.Equal(10, await Database.CountAsync(host.ConnectionString,
            $"select next_offset from consumer_offsets where consumer = '{IngestWorker.Consumer}' and topic = '{topics.Names.Store}' and partition = 0"));
        await Task.Delay(500);
        Assert.Equal(outputsBefore, TopicReader.ReadAll(kafka.BootstrapServers, topics.Names.Canonical).Count);
        Assert.Equal(10, worker.RecordsCommitted);
    }

    [Fact]
    public async Task Profiles_PartitionsRevokedMidStream_TheNewOwnerLosesNothingAndCountsNothingTwice()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 4);
        string[] shared = ["--Streams:Workers=profiles", "--Profiles:GroupId=handover", "--Profiles:BatchSize=40",
            "--Profiles:MaxBatchWait=00:00:00.020"];
        var (customers, events) = CustomerGenerator.Generate(150, seed: 21, prefix: "handover");
        await using var first = await InProcessHost.StartAsync(kafka, postgres, topics, shared);
        await using var second = await InProcessHost.StartAsync(kafka, postgres, topics,
            [.. shared, $"--ConnectionStrings:Profiles={first.ConnectionString}"]);
        var a = first.Get<ProfilesMetrics>();
        var b = second.Get<ProfilesMetrics>();
        using var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical);
        // The second instance is started at once but joins the group only after the first has begun: records keep
        // coming in small bursts while the partitions move, so batches are in flight when they are revoked.
        var sent = 0;
        foreach (var chunk in events.Chunk(25))
        {
            chunk.ToList().ForEach(feed.Send);
            feed.Flush();
            sent += chunk.Length;
            await Task.Delay(100);
        }

        await WaitUntilAsync(() => Offset(first.ConnectionString) >= sent);
        Assert.True(b.AssignedPartitions > 0 || a.AssignedPartitions < 4, "the partitions never moved");
        Assert.Equal(customers.Count, await Database.CountAsync(first.ConnectionString, "select count(*) from profiles"));
        Assert.Equal(events.Count, await Database.CountAsync(first.ConnectionString,
            "select sum((aggregate->'event_counts'->>'clickstream')::bigint + (aggregate->'event_counts'->>'store')::bigint + " +
            "(aggregate->'event_counts'->>'callcenter')::bigint + (aggregate->'event_counts'->>'social')::bigint) from profiles"));
        Assert.Equal(events.Count, Offset(first.ConnectionString));
        // Every partition was claimed again when it moved (or when the group settled): the first owner's epochs are gone.
        Assert.True(await Database.CountAsync(first.ConnectionString,
            $"select count(*) from partition_epochs where consumer = 'profiles' and topic = '{topics.Names.Canonical}' and epoch >= 2") > 0);
    }

    /// <summary>
    /// A rebalance while the worker reads ahead of the batch being saved (a backlog): the records it had read ahead of the
    /// revoked partitions are dropped (the partitions it gets back are read again from the stored offsets), so nothing is
    /// counted twice and no batch names a partition it has let go of.
    /// </summary>
    [Fact]
    public async Task Profiles_RebalancedWhileReadingAhead_CountsNoRecordTwice()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 4);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics, "--Streams:Workers=profiles", "--Profiles:GroupId=readahead",
            "--Profiles:BatchSize=10", "--Profiles:MaxBatchWait=00:00:00.020");
        var metrics = host.Get<ProfilesMetrics>();
        await WaitUntilAsync(() => metrics.AssignedPartitions == 4);
        var (customers, events) = CustomerGenerator.Generate(400, seed: 31, prefix: "readahead");
        using (var feed = new CanonicalFeed(kafka.BootstrapServers, topics.Names.Canonical))
        {
            events.ForEach(feed.Send);
        }

        // Another member joins the group while the backlog is worked off, and leaves: every partition is revoked twice, and
        // those the worker keeps or gets back are read again from its stored offsets.
        await WaitUntilAsync(() => metrics.Records > 0);
        using (var other = new Confluent.Kafka.ConsumerBuilder<byte[], byte[]>(new Confluent.Kafka.ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers, GroupId = "readahead", EnableAutoCommit = false, SessionTimeoutMs = 6000,
        }).Build())
        {
            other.Subscribe(topics.Names.Canonical);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (other.Assignment.Count == 0 && clock.Elapsed < Patience)
            {
                other.Consume(TimeSpan.FromMilliseconds(100));
            }

            Assert.NotEmpty(other.Assignment);
            // The partitions were revoked before this assignment: the backlog must still have been there then.
            var stored = Offset(host.ConnectionString);
            Assert.True(stored < events.Count, $"the backlog was worked off before the rebalance ({stored} of {events.Count})");
            other.Close();
        }

        await WaitUntilAsync(() => Offset(host.ConnectionString) >= events.Count);
        await WaitUntilAsync(() => metrics.Records >= events.Count);
        Assert.Equal(customers.Count, await Database.CountAsync(host.ConnectionString, "select count(*) from profiles"));
        Assert.Equal(events.Count, await Database.CountAsync(host.ConnectionString,
            "select sum((aggregate->'event_counts'->>'clickstream')::bigint + (aggregate->'event_counts'->>'store')::bigint + " +
            "(aggregate->'event_counts'->>'callcenter')::bigint + (aggregate->'event_counts'->>'social')::bigint) from profiles"));
        Assert.Equal(events.Count, metrics.Records);
        // The records read ahead of revoked partitions were dropped, not cut into a batch the fence would refuse: the loop
        // went through both rebalances without starting over.
        Assert.DoesNotContain("session failed", host.Logs.Text, StringComparison.Ordinal);
    }

    private static void Save(NpgsqlDataSource dataSource, IReadOnlyDictionary<(string Topic, int Partition), long> epochs,
        List<(string Topic, int Partition, long NextOffset)> offsets, int effect)
    {
        using var connection = dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"insert into effects values ({effect})"));
        batch.BatchCommands.Add(ConsumerOffsets.Save("c", offsets, epochs, Now));
        PartitionEpochs.Run(batch.ExecuteNonQuery);
        transaction.Commit();
    }

    private static async Task<long> CountAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static long Offset(string connectionString) =>
        Database.CountAsync(connectionString, "select coalesce(sum(next_offset), 0) from consumer_offsets where consumer = 'profiles'").Result;

    private async Task<NpgsqlDataSource> MigratedAsync()
    {
        var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance)
            .MigrateAsync(Migration.FromAssemblies(typeof(MigrationRunner).Assembly, typeof(IngestPipeline).Assembly));
        return dataSource;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < Patience)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), "timed out");
    }
}
