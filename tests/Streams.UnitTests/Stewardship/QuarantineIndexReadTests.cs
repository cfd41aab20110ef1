using System.Text;
using Streams.Contracts;
using Streams.Contracts.Outputs;
using Streams.Ingest;
using Streams.Ingest.Worker;
using Streams.Quality.Stewardship;
using Streams.UnitTests.Ingest;

namespace Streams.UnitTests.Stewardship;

/// <summary>What the quarantine index's reader keeps of values PostgreSQL cannot store as they are, or that ingest never writes.</summary>
public sealed class QuarantineIndexReadTests
{
    private static readonly SourcePosition Source = new("store", 0, 7);

    [Theory]
    [InlineData("e-1", "e-1")]
    [InlineData("e\u00001", "e\uFFFF01")]
    [InlineData("e\uFFFF01", "e\uFFFF\uFFFF01")]
    [InlineData("\u0000", "\uFFFF0")]
    public void Read_EventId_IsKeptAsIngestsDeduplicationKeepsIt(string eventId, string stored)
    {
        var row = Read(Record(JsonText(eventId)));
        Assert.Equal(stored, row!.EventId);
        Assert.Equal(IngestStateRepository.StoredEventId(eventId), row.EventId);
    }

    [Fact]
    public void Read_ReasonWithU0000_BadOrMissingCodes_AreKeptAsTheConsoleShowsThem()
    {
        var row = Read(Record("\"e-1\"", reasons: """
            [{"code":"unknown_currency","field":"f\u0000","detail":"d\u0000"}, null, {"code":null,"field":null,"detail":null},
             {"code":"Not A Code","field":"x","detail":"y"}, {"code":"a_64_character_code_is_the_longest_the_figures_take_xxxxxxxxxxxx1","field":null,"detail":"z"}]
            """));
        Assert.Equal(
            [
                new QuarantineReason("unknown_currency", "f\uFFFD", "d\uFFFD"), new QuarantineReason("unrecognized", null, null),
                new QuarantineReason("unrecognized", null, null), new QuarantineReason("unrecognized", "x", "y"),
                new QuarantineReason("unrecognized", null, "z"),
            ],
            row!.Reasons);
    }

    [Fact]
    public void Read_TimeWithAnOffset_IsTheSameInstantInUtc()
    {
        var row = Read(Record("\"e-1\"", at: "2026-12-04T13:00:00+01:00"));
        Assert.Equal(TimeSpan.Zero, row!.QuarantinedAt.Offset);
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero), row.QuarantinedAt);
    }

    [Fact]
    public void Read_MaskedCopyWithU0000_IsKeptAsWritten_AndOneThatIsNotAnObject_IsDropped()
    {
        Assert.Equal("{\"sku\":\"a\\u0000\"}", Read(Record("\"e-1\"", record: "{\"sku\":\"a\\u0000\"}"))!.RecordJson);
        Assert.Null(Read(Record("\"e-1\"", record: "\"ada@example.org\""))!.RecordJson);
    }

    [Theory]
    [InlineData("\"x\\ud800\"")]
    [InlineData("\"x\\udc00y\"")]
    public void Read_LoneSurrogate_IsNotAQuarantineRecord(string eventId) => Assert.Null(Read(Record(eventId)));

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("{\"reasons\":null}")]
    [InlineData("{\"reasons\":{}}")]
    [InlineData("{\"disposition\":\"bogus\",\"reasons\":[]}")]
    [InlineData("{\"quarantined_at\":\"yesterday\",\"reasons\":[]}")]
    public void Read_NotAQuarantineRecord_IsNotIndexed(string value) => Assert.Null(Read(Encoding.UTF8.GetBytes(value)));

    [Fact]
    public void Read_InvalidUtf8_OrATombstone_IsNotIndexed()
    {
        Assert.Null(Read([.. Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Record("\"e-")).TrimEnd()), 0xff]));
        Assert.Null(Read(null));
    }

    private static IndexedQuarantine? Read(byte[]? value)
    {
        var sealer = IngestTestKit.Pseudonymizer();
        return QuarantineIndexWorker.Read("store", OutputHeaders.For(Source, OutputHeaders.KindQuarantine, sealer), value, sealer);
    }

    private static string JsonText(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    private static byte[] Record(string eventId, string? reasons = null, string? record = null, string at = "2026-12-04T12:00:00Z") =>
        Encoding.UTF8.GetBytes($$"""
            {"source":{"topic":"store","partition":0,"offset":7},"event_id":{{eventId}},"disposition":"quarantined","reasons":{{reasons
                ?? "[{\"code\":\"unknown_currency\",\"field\":\"currency\",\"detail\":\"x\"}]"}},"record":{{record
                ?? "{}"}},"raw_sha256":"00","raw_bytes":10,"quarantined_at":"{{at}}"}
            """);
}
