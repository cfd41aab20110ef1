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
}
