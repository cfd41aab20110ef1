using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Outputs;
using Streams.Contracts.Quarantine;
using Streams.Ingest;
using Streams.Ingest.Quarantine;
using Streams.Ingest.Worker;
using Streams.Quality.Stewardship;
using Streams.UnitTests.Ingest;

namespace Streams.UnitTests.Stewardship;

public sealed class ReplayHeadersTests
{
    private static readonly SourcePosition Original = new("store", 3, 42);

    [Fact]
    public void For_NamesTheOriginalPositionAndTheSteward_AndReadsBack()
    {
        var headers = ReplayHeaders.For(Original, "steward-ops");
        Assert.Equal("store/3/42", Encoding.UTF8.GetString(headers.GetLastBytes(ReplayHeaders.ReplayOf)));
        Assert.Equal("steward-ops", Encoding.UTF8.GetString(headers.GetLastBytes(ReplayHeaders.Steward)));
        Assert.Equal((Original, "steward-ops"), ReplayHeaders.Read(headers));
    }

    [Theory]
    [InlineData("ada@example.org")]
    [InlineData("+12125550100")]
    [InlineData("Ada Lovelace")]
    public void For_StewardThatLooksPersonal_IsRefused(string steward) =>
        Assert.Throws<ArgumentException>(() => ReplayHeaders.For(Original, steward));

    [Fact]
    public void Read_RecordNoStewardReplayed_OrGarbledHeaders_IsNull()
    {
        Assert.Null(ReplayHeaders.Read(null));
        Assert.Null(ReplayHeaders.Read([]));
        Assert.Null(ReplayHeaders.Read(new Headers { { ReplayHeaders.ReplayOf, [0xff, 0xfe] }, { ReplayHeaders.Steward, "x"u8.ToArray() } }));
        Assert.Null(ReplayHeaders.Read(new Headers { { ReplayHeaders.ReplayOf, "store/x/1"u8.ToArray() }, { ReplayHeaders.Steward, "x"u8.ToArray() } }));
        Assert.Null(ReplayHeaders.Read(new Headers { { ReplayHeaders.ReplayOf, null }, { ReplayHeaders.Steward, "x"u8.ToArray() } }));
        Assert.Null(ReplayHeaders.Read(new Headers { { ReplayHeaders.ReplayOf, "store/0/1"u8.ToArray() }, { ReplayHeaders.Steward, null } }));
    }

    [Theory]
    [InlineData("store:1:42", true)]
    [InlineData("t-1.store:0:0", true)]
    [InlineData("store:1", false)]
    [InlineData("store:-1:4", false)]
    [InlineData(":1:4", false)]
    [InlineData("store:1:4:5", false)]
    public void StewardPosition_ParsesTopicPartitionOffset(string text, bool valid)
    {
        Assert.Equal(valid, StewardPosition.TryParse(text, ':', out var position));
        if (valid)
        {
            Assert.Equal(text, StewardPosition.Format(position!));
        }
    }

    [Fact]
    public void IndexRead_SealedQuarantineRecord_IsIndexedWithItsMaskedCopy()
    {
        var sealer = IngestTestKit.Pseudonymizer();
        var (headers, value) = QuarantineRecordOf(Original, sealer);
        var row = QuarantineIndexWorker.Read("store", headers, value, sealer);
        Assert.NotNull(row);
        Assert.Equal(Original, row.Source);
        Assert.Equal(["unknown_currency"], row.Reasons.Select(r => r.Code));
        Assert.Equal("{\"currency\":\"ZZZ\"}", row.RecordJson);
    }

    [Fact]
    public void IndexRead_RecordIngestDidNotSeal_OrForAnotherTopic_IsNotIndexed()
    {
        var sealer = IngestTestKit.Pseudonymizer();
        var (headers, value) = QuarantineRecordOf(Original, sealer);
        // Copied headers with a forged source: the seal no longer matches.
        var forged = new Headers { { OutputHeaders.Source, "store/3/43"u8.ToArray() }, { OutputHeaders.Kind, "quarantine"u8.ToArray() },
            { OutputHeaders.Seal, headers.GetLastBytes(OutputHeaders.Seal) } };
        Assert.Null(QuarantineIndexWorker.Read("store", forged, value, sealer));
        Assert.Null(QuarantineIndexWorker.Read("store", OutputHeaders.For(Original, OutputHeaders.KindQuarantine), value, sealer));
        Assert.Null(QuarantineIndexWorker.Read("clickstream", headers, value, sealer));
        Assert.Null(QuarantineIndexWorker.Read("store", headers, "not json"u8.ToArray(), sealer));
    }

    private static (Headers Headers, byte[] Value) QuarantineRecordOf(SourcePosition source, Streams.Ingest.Pseudonymization.Pseudonymizer sealer)
    {
        using var masked = JsonDocument.Parse("{\"currency\":\"ZZZ\"}");
        var record = new QuarantineRecord(source, "e-1", QuarantineDisposition.Quarantined,
            [new Streams.Contracts.Quarantine.QuarantineReason("unknown_currency", "currency", "not an ISO 4217 code")], masked.RootElement.Clone(),
            "00", 10, IngestTestKit.Now);
        return (OutputHeaders.For(source, OutputHeaders.KindQuarantine, sealer), QuarantineJson.Serialize(record));
    }
}
