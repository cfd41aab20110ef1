using System.Text;
using Confluent.Kafka;
using Streams.Contracts;
using Streams.Contracts.Outputs;
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

    [Fact]
    public void Sealed_VerifiesForItsSourceAndKind_AndUnderAnyConfiguredKey_ButNotForgedOrMoved()
    {
        var sealer = IngestTestKit.Pseudonymizer();
        var source = new SourcePosition("store", 0, 7);
        var headers = OutputHeaders.For(source, OutputHeaders.KindEvent, sealer);

        Assert.Equal((source, "event"), OutputHeaders.Read(headers));
        Assert.True(OutputHeaders.IsSealed(headers, source, OutputHeaders.KindEvent, sealer));
        Assert.False(OutputHeaders.IsSealed(headers, source with { Offset = 8 }, OutputHeaders.KindEvent, sealer));
        Assert.False(OutputHeaders.IsSealed(headers, source, OutputHeaders.KindQuarantine, sealer));
        Assert.False(OutputHeaders.IsSealed(OutputHeaders.For(source, OutputHeaders.KindEvent), source, OutputHeaders.KindEvent, sealer));
        var forged = OutputHeaders.For(source, OutputHeaders.KindEvent);
        forged.Add(OutputHeaders.Seal, new byte[Streams.Contracts.Outputs.OutputHeaders.SealBytes]);
        Assert.False(OutputHeaders.IsSealed(forged, source, OutputHeaders.KindEvent, sealer));

        // After a rotation the old key still verifies what was sealed before it; a host without that key does not.
        var rotated = IngestTestKit.PseudonymizationOptions();
        rotated.Keys["k2"] = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        rotated.ActiveKeyId = "k2";
        var afterRotation = new Streams.Ingest.Pseudonymization.Pseudonymizer(Microsoft.Extensions.Options.Options.Create(rotated));
        Assert.True(OutputHeaders.IsSealed(headers, source, OutputHeaders.KindEvent, afterRotation));
        var otherOnly = new Streams.Ingest.Pseudonymization.PseudonymizationOptions { ActiveKeyId = "k2", DefaultRegion = "US" };
        otherOnly.Keys["k2"] = rotated.Keys["k2"];
        Assert.False(OutputHeaders.IsSealed(headers, source, OutputHeaders.KindEvent,
            new Streams.Ingest.Pseudonymization.Pseudonymizer(Microsoft.Extensions.Options.Options.Create(otherOnly))));
    }

    [Fact]
    public void Seal_IsTheHmacOfSourceAndKindUnderTheSealKey_SoOutputsSealedBeforeAnUpgradeStillVerify()
    {
        // The seal's bytes are a format: a host must recognize outputs an earlier build sealed (HMACSHA256 one-shot then).
        var sealKey = System.Security.Cryptography.HMACSHA256.HashData(
            Convert.FromBase64String(IngestTestKit.KeyBase64), "streams output-seal v1"u8);
        var expected = System.Security.Cryptography.HMACSHA256.HashData(sealKey, "store/0/7/event"u8)[..OutputHeaders.SealBytes];

        var headers = OutputHeaders.For(new SourcePosition("store", 0, 7), OutputHeaders.KindEvent, IngestTestKit.Pseudonymizer());

        Assert.Equal(expected, headers.GetLastBytes(OutputHeaders.Seal));
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

    [Fact]
    public void Read_HeadersWithoutValues_AreNotThere()
    {
        // A producer may send a header without a value: readers of every output topic (ingest's recovery scan, the
        // figures, the quarantine index) threw on one.
        var sealer = IngestTestKit.Pseudonymizer();
        var source = "store/0/1"u8.ToArray();
        var kind = "quarantine"u8.ToArray();
        Headers[] valueless =
        [
            new() { { OutputHeaders.Source, null }, { OutputHeaders.Kind, kind } },
            new() { { OutputHeaders.Source, source }, { OutputHeaders.Kind, null } },
            new() { { OutputHeaders.Source, null }, { OutputHeaders.Kind, null }, { OutputHeaders.Seal, null } },
        ];
        foreach (var headers in valueless)
        {
            Assert.Null(OutputHeaders.Read(headers));
            Assert.Null(OutputHeaders.ReadKind(headers));
            Assert.False(OutputHeaders.IsSealed(headers, new SourcePosition("store", 0, 1), OutputHeaders.KindQuarantine, sealer));
        }
    }
}
