using System.Text;
using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Mock;
using Streamiz.Kafka.Net.SerDes;
using Streams.Contracts;
using Streams.Contracts.Outputs;
using Streams.Contracts.Topics;
using Streams.Ingest;
using Streams.Ingest.Worker;
using Streams.Quality;
using Streams.Quality.Figures;

namespace Streams.UnitTests.Quality;

/// <summary>The topology on Streamiz's <see cref="TopologyTestDriver"/>: windows, late records, the shares, what is read.</summary>
public sealed class QualityTopologyTests : IDisposable
{
    private static readonly DateTime Minute = new(2026, 12, 4, 12, 0, 0, DateTimeKind.Utc);
    private readonly TopicCatalog catalog = new(new TopicsOptions());
    private readonly TopologyTestDriver driver;
    private readonly TestInputTopic<byte[], byte[]> canonical;
    private readonly TestInputTopic<byte[], byte[]> storeQuarantine;
    private readonly TestOutputTopic<string, QualityMinute> output;
    private long offset;

    public QualityTopologyTests()
    {
        var builder = new StreamBuilder();
        QualityTopology.Configure(builder, catalog, new QualityOptions { Grace = TimeSpan.FromMinutes(2) });
        driver = new TopologyTestDriver(builder.Build(), new StreamConfig<StringSerDes, StringSerDes> { ApplicationId = "quality-test" });
        canonical = driver.CreateInputTopic(catalog.Names.Canonical, new ByteArraySerDes(), new ByteArraySerDes());
        storeQuarantine = driver.CreateInputTopic("store.quarantine", new ByteArraySerDes(), new ByteArraySerDes());
        output = driver.CreateOutputTopic(catalog.Names.DataQuality, TimeSpan.FromSeconds(1), new StringSerDes(), new QualityMinuteSerDes());
    }

    public void Dispose() => driver.Dispose();

    [Fact]
    public void Records_CountedPerTopicReasonAndMinute_WithShares()
    {
        for (var i = 0; i < 8; i++)
        {
            Accepted("store", Minute.AddSeconds(i));
        }

        Quarantine("store", "quarantined", Minute.AddSeconds(10), "unknown_currency", "schema_violation");
        Quarantine("store", "quarantined", Minute.AddSeconds(11), "unknown_currency");
        Accepted("store", Minute.AddSeconds(12));
        Quarantine("store", "flagged", Minute.AddSeconds(12), "total_mismatch");
        Accepted("store", Minute.AddSeconds(70));
        Accepted("clickstream", Minute.AddSeconds(5));

        var last = output.ReadKeyValueList().GroupBy(r => r.Message.Key).ToDictionary(g => g.Key, g => g.Last().Message.Value);
        var first = last["store/2026-12-04T12:00Z"];
        Assert.Equal((11L, 2L, 1L), (first.Inputs, first.Quarantined, first.Flagged));
        Assert.Equal(2.0 / 11, first.QuarantinedShare);
        Assert.Equal(1.0 / 11, first.FlaggedShare);
        Assert.Equal(new Dictionary<string, long> { ["schema_violation"] = 1, ["total_mismatch"] = 1, ["unknown_currency"] = 2 }, first.Reasons);
        Assert.Equal((Minute, Minute.AddMinutes(1)), (first.WindowStart.UtcDateTime, first.WindowEnd.UtcDateTime));
        Assert.Equal(1, last["store/2026-12-04T12:01Z"].Inputs);
        Assert.Equal(0, last["store/2026-12-04T12:01Z"].Quarantined);
        Assert.Equal(1, last["clickstream/2026-12-04T12:00Z"].Inputs);

        var store = driver.GetWindowStore<string, QualityFigures>(QualityTopology.StoreName);
        Assert.Equal(11, store.Fetch("store", new DateTimeOffset(Minute).ToUnixTimeMilliseconds()).Inputs);
    }

    [Fact]
    public void LateRecord_WithinGrace_IsCounted_PastGrace_IsDropped()
    {
        Accepted("store", Minute.AddMinutes(2).AddSeconds(30));
        Accepted("store", Minute.AddSeconds(40));                  // 1.8 min late: within the 2-minute grace
        Accepted("store", Minute.AddMinutes(5));
        Accepted("store", Minute.AddSeconds(50));                  // now past the window's end + grace: dropped

        var last = output.ReadKeyValueList().GroupBy(r => r.Message.Key).ToDictionary(g => g.Key, g => g.Last().Message.Value);
        Assert.Equal(1, last["store/2026-12-04T12:00Z"].Inputs);
    }

    [Fact]
    public void RecordsIngestDidNotWrite_AreNotCounted()
    {
        canonical.PipeInput(Encoding.UTF8.GetBytes("k"), "{}"u8.ToArray(), Minute, new Headers());
        Accepted("not-an-input-topic", Minute);
        storeQuarantine.PipeInput(Encoding.UTF8.GetBytes("k"), "not json"u8.ToArray(), Minute, new Headers());
        Accepted("store", Minute.AddSeconds(1));

        var last = output.ReadKeyValueList().GroupBy(r => r.Message.Key).ToDictionary(g => g.Key, g => g.Last().Message.Value);
        Assert.Equal(["store/2026-12-04T12:00Z"], last.Keys);
        Assert.Equal(1, last["store/2026-12-04T12:00Z"].Inputs);
    }

    private void Accepted(string topic, DateTime at) =>
        canonical.PipeInput(Encoding.UTF8.GetBytes("k"), "{}"u8.ToArray(), at, OutputHeaders.For(new SourcePosition(topic, 0, offset++), OutputHeaders.KindEvent));

    private void Quarantine(string topic, string disposition, DateTime at, params string[] codes)
    {
        var reasons = string.Join(',', codes.Select(c => $$"""{"code":"{{c}}","field":"f","detail":"d"}"""));
        var value = $$$"""{"source":{"topic":"{{{topic}}}","partition":0,"offset":{{{offset++}}}},"disposition":"{{{disposition}}}","reasons":[{{{reasons}}}],"record":{"email":"j***@example"}}""";
        var input = topic == "store" ? storeQuarantine : driver.CreateInputTopic(topic + ".quarantine", new ByteArraySerDes(), new ByteArraySerDes());
        input.PipeInput(Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes(value), at, new Headers());
    }
}
