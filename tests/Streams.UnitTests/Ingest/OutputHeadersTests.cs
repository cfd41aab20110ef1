using System.Text;
using Confluent.Kafka;
using Streams.Ingest;
using Streams.Ingest.Worker;

namespace Streams.UnitTests.Ingest;

public sealed class OutputHeadersTests
{
    [Fact]
    public void For_ThenRead_RoundTripsSourceAndKind()
    {
        var headers = OutputHeaders.For(new SourcePosition("store.v2", 3, 1234567890123), OutputHeaders.KindQuarantine);
        var read = OutputHeaders.Read(headers);
        Assert.Equal((new SourcePosition("store.v2", 3, 1234567890123), "quarantine"), read);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("store/1")]
    [InlineData("store/x/2")]
    [InlineData("store/1/-2")]
    [InlineData("a/b/1/2")]
    public void Read_OfARecordIngestDidNotWrite_IsNull(string? source)
    {
        var headers = new Headers { { OutputHeaders.Kind, Encoding.UTF8.GetBytes("event") } };
        if (source is not null)
        {
            headers.Add(OutputHeaders.Source, Encoding.UTF8.GetBytes(source));
        }

        Assert.Null(OutputHeaders.Read(headers));
        Assert.Null(OutputHeaders.Read(null));
    }

    [Fact]
    public void ReadKind_ForgedOversizedNonUtf8Kind_IsUnknownAndCopiesNothing()
    {
        var forged = new byte[300_000];
        Array.Fill(forged, (byte)0xFF);
        "jane.doe@example.com"u8.CopyTo(forged);
        var headers = new Headers { { OutputHeaders.Source, "store/0/1"u8.ToArray() }, { OutputHeaders.Kind, forged } };

        Assert.Equal(OutputHeaders.KindUnknown, OutputHeaders.ReadKind(headers));
        Assert.Equal(OutputHeaders.KindUnknown, OutputHeaders.Read(headers)!.Value.Kind);
    }

    [Fact]
    public void Read_ForgedOversizedOrNonUtf8Source_IsNull()
    {
        var kind = "event"u8.ToArray();
        var oversized = System.Text.Encoding.UTF8.GetBytes(new string('t', 100_000) + "/0/1");

        Assert.Null(OutputHeaders.Read(new Headers { { OutputHeaders.Source, oversized }, { OutputHeaders.Kind, kind } }));
        Assert.Null(OutputHeaders.Read(new Headers { { OutputHeaders.Source, [0xFF, 0x2F, 0x30, 0x2F, 0x31] }, { OutputHeaders.Kind, kind } }));
    }
}
