using Confluent.Kafka;
using Streams.Infrastructure.Diagnostics;
using Streams.IntegrationTests.Fixtures;
using Streams.IntegrationTests.Host;
using Streams.Quality.Figures;
using Xunit.Abstractions;

namespace Streams.IntegrationTests.Quality;

/// <summary>
/// The quality worker is killed with SIGKILL mid-stream and started again (the broker lives in this test process). At
/// least once (CONTRACT.md §9.3): no input goes uncounted, and a count is over by at most the records the dead worker had
/// read past its last commit.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class QualityCrashTests(KafkaFixture kafka, PostgresFixture postgres, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task KilledMidStream_CountsAreNeverUnder_AndOverByAtMostTheRecordsPastTheLastCommit()
    {
        var topics = await TestTopics.CreateAsync(kafka, partitions: 2);
        var applicationId = KafkaFixture.Unique("quality");
        var figures = new QualityWorkerTests(kafka, postgres);
        figures.CreateInternalTopics(topics, applicationId);
        // Both hosts run on this state dir (the later --Streams:StateDir wins over the one HostProcess makes), so the test
        // removes it.
        using var stateFolder = new TemporaryFolder("streams-host-");
        string[] arguments =
        [
            .. InProcessHost.Arguments(kafka, topics, await postgres.CreateDatabaseAsync(), stateFolder.Path),
            .. QualityWorkerTests.QualityArguments(applicationId, "--Quality:MaxPollRecords=50"),
        ];
        const int half = 300;
        var start = QualityWorkerTests.Minute(DateTimeOffset.UtcNow) - TimeSpan.FromMinutes(2);
        using var feed = new QualityFeed(kafka.BootstrapServers, topics.Catalog);
        // Dies at the 450th record read: half-way through the second half, with the first one counted and committed.
        var crash = $"{QualityTopology.ObservedCrashPoint}@{half + (half / 2)}";
        await using (var dying = HostProcess.Start(new Dictionary<string, string> { [CrashPoints.Variable] = crash }, arguments))
        {
            Send(feed, topics, start, 0, half);
            await QualityWorkerTests.EventuallyAsync(() => figures.LastPerKey(topics.Names.DataQuality).Values.Sum(m => m.Inputs), total => total >= half);
            // Several commit intervals: the first half's positions are committed.
            await Task.Delay(1000);
            Send(feed, topics, start, half, half);
            await dying.WaitForExitAsync(Patience);
            Assert.True(dying.Errors.Contains($"crash point {crash} reached", StringComparison.Ordinal), dying.Errors + dying.Output);
        }

        const int records = 2 * half;
        // Everything past the committed positions may be counted a second time: the source topics' records and the
        // repartitioned ones (one each per input here).
        var sources = QualityTopology.SourceTopics(topics.Catalog).Append(QualityTopology.InternalTopics(applicationId)[0]).ToList();
        var uncommitted = Uncommitted(applicationId, sources, topics.Names.Partitions);

        await using (var again = HostProcess.Start(arguments: arguments))
        {
            var totals = await QualityWorkerTests.EventuallyAsync(() => figures.LastPerKey(topics.Names.DataQuality).Values.Sum(m => m.Inputs),
                total => total >= records);
            // A little longer: counts still to come from the replayed records arrive now.
            await Task.Delay(2000);
            var counted = figures.LastPerKey(topics.Names.DataQuality).Values.Sum(m => m.Inputs);
            output.WriteLine($"inputs {records}, counted {counted}, over {counted - records}, records past the last commit at the kill {uncommitted}");
            Assert.InRange(counted, records, records + uncommitted);
            again.Interrupt();
            Assert.Equal(0, await again.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }
    }

    /// <summary>Inputs <paramref name="from"/> to <paramref name="from"/> + <paramref name="count"/>: one record each, a fifth quarantined.</summary>
    private static void Send(QualityFeed feed, TestTopics topics, DateTimeOffset start, int from, int count)
    {
        for (var i = from; i < from + count; i++)
        {
            var at = start + TimeSpan.FromMilliseconds(i * 150);
            if (i % 5 == 0)
            {
                feed.Quarantined(topics.Names.Store, at, "schema_violation");
            }
            else
            {
                feed.Accepted(i % 2 == 0 ? topics.Names.Store : topics.Names.Clickstream, at);
            }
        }

        feed.Flush();
    }

    /// <summary>Records past the group's committed positions (from the start where nothing was committed).</summary>
    private long Uncommitted(string groupId, IReadOnlyList<string> topicNames, int partitions)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = groupId }).Build();
        var all = topicNames.SelectMany(t => Enumerable.Range(0, partitions).Select(p => new TopicPartition(t, p))).ToList();
        var committed = consumer.Committed(all, TimeSpan.FromSeconds(10)).ToDictionary(c => c.TopicPartition, c => c.Offset);
        return all.Sum(tp =>
        {
            var marks = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10));
            var from = committed[tp] is { IsSpecial: false } position ? position.Value : marks.Low.Value;
            return marks.High.Value - from;
        });
    }
}
