using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Quarantine;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles.Processing;

namespace Streams.UnitTests.Profiles;

/// <summary>
/// Records of the canonical topic that ingest never writes, at every limit: each becomes an <see cref="InvalidItem"/> with a
/// CONTRACT §4 reason (never an exception), and its quarantine record is small and quotes nothing of it.
/// </summary>
public sealed class CanonicalRecordReaderTests
{
    private const string Event = "event";
    private const string Consent = "consent";
    private static readonly SourcePosition Position = new("streams.canonical-events", 3, 41);
    private static readonly DateTimeOffset At = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);

    private static readonly string StoreJson = Encoding.UTF8.GetString(CanonicalJson.Serialize(
        new CanonicalEvent(Channel.Store, "pos-1", At, [new CanonicalIdentifier(IdentifierType.Loyalty, "k1:0123456789abcdef0123456789abcdef")], [],
            new SourcePosition("store", 0, 7))
        {
            Store = new StoreAttributes("store-1", 100, "EUR", 10, 2, [new CategoryAmount("food", 2, 90)], "card"),
        }));

    private static readonly string ClickJson = Encoding.UTF8.GetString(CanonicalJson.Serialize(
        new CanonicalEvent(Channel.Clickstream, "clk-1", At, [new CanonicalIdentifier(IdentifierType.Device, "k1:device")], [],
            new SourcePosition("clickstream", 0, 7))
        {
            Clickstream = new ClickstreamAttributes("purchase", "shoes", 1500, 40, "EUR", "mobile"),
        }));

    private static readonly string CallJson = Encoding.UTF8.GetString(CanonicalJson.Serialize(
        new CanonicalEvent(Channel.Callcenter, "cc-1", At, [new CanonicalIdentifier(IdentifierType.Phone, "k1:phone")], ["invalid_email"],
            new SourcePosition("callcenter", 0, 7))
        {
            Callcenter = new CallcenterAttributes("complaint", 300, -0.5, false),
        }));

    private static readonly string SocialJson = Encoding.UTF8.GetString(CanonicalJson.Serialize(
        new CanonicalEvent(Channel.Social, "so-1", At, [new CanonicalIdentifier(IdentifierType.Social, "k1:social")], [],
            new SourcePosition("social", 0, 7))
        {
            Social = new SocialAttributes("instagram", "share", 0.8, 500),
        }));

    private static readonly string ConsentJson = Encoding.UTF8.GetString(CanonicalJson.Serialize(
        new ConsentCommand("c-1", At, IdentifierType.Email, "k1:email", ConsentAction.Erase, new SourcePosition("consent", 0, 7))));

    public static TheoryData<string, string> CleanRecords => new()
    {
        { StoreJson, Event }, { ClickJson, Event }, { CallJson, Event }, { SocialJson, Event }, { ConsentJson, Consent },
        // At the limits, inside: 128 characters of event id (surrogate pairs count once), no identifier (an anonymous sale),
        // text of 256 characters, numbers at their bounds.
        { Set(StoreJson, "event_id", string.Concat(Enumerable.Repeat("😀", 128))), Event },
        { Set(StoreJson, "identifiers", new JsonArray()), Event },
        { Set(StoreJson, "store.categories.0.category", new string('c', 256)), Event },
        { Set(Set(StoreJson, "store.discount_pct", 100), "store.total", 0), Event },
        { Set(CallJson, "callcenter.sentiment", -1), Event },
        { Set(StoreJson, "store.total", 1.7976931348623157e308), Event },
        { Set(ClickJson, "clickstream.dwell_ms", long.MaxValue), Event },
    };

    [Theory]
    [MemberData(nameof(CleanRecords))]
    public void Read_WhatIngestWrites_IsUsed(string json, string kind)
    {
        var item = CanonicalRecordReader.Read(Position, Encoding.UTF8.GetBytes(json), kind);

        Assert.IsType(kind == Event ? typeof(EventItem) : typeof(ConsentItem), item);
    }

    public static TheoryData<string, byte[], string?, string> Hostile()
    {
        var data = new TheoryData<string, byte[], string?, string>();
        void Add(string name, string json, string? kind, string code) => data.Add(name, Encoding.UTF8.GetBytes(json), kind, code);
        const string Sv = ReasonCodes.SchemaViolation, Mj = ReasonCodes.MalformedJson, Or = ReasonCodes.OutOfRange;

        // Headers.
        Add("no kind header", StoreJson, null, Sv);
        Add("forged kind", StoreJson, "quarantine", Sv);
        Add("kind of 100 KB", StoreJson, new string('k', 100_000), Sv);
        Add("kind with control characters", StoreJson, "ev\u0000ent\uFFFD", Sv);
        Add("consent kind on an event", StoreJson, Consent, Sv);
        Add("event kind on a consent", ConsentJson, Event, Sv);

        // Bytes and syntax.
        Add("empty value", "", Event, Sv);
        Add("plain text", "not json at all", Event, Mj);
        Add("truncated", StoreJson[..^5], Event, Mj);
        Add("array", "[" + StoreJson + "]", Event, Mj);
        Add("null literal", "null", Event, Mj);
        Add("string", "\"store\"", Event, Mj);
        Add("two objects", StoreJson + StoreJson, Event, Mj);
        Add("nested 100 deep", StoreJson[..^1] + ",\"x\":" + new string('[', 100) + new string(']', 100) + "}", Event, Mj);
        Add("NaN literal", StoreJson.Replace("\"total\":100", "\"total\":NaN", StringComparison.Ordinal), Event, Mj);
        Add("Infinity literal", StoreJson.Replace("\"total\":100", "\"total\":Infinity", StringComparison.Ordinal), Event, Mj);
        data.Add("invalid UTF-8 in a string", Patch(StoreJson, "store-1", [0x73, 0xFF, 0xFE, 0x31]), Event, Mj);
        data.Add("overlong UTF-8 encoding", Patch(StoreJson, "store-1", [0xC0, 0xAF]), Event, Mj);
        data.Add("encoded surrogate in UTF-8", Patch(StoreJson, "store-1", [0xED, 0xA0, 0x80]), Event, Mj);
        data.Add("larger than 1 MiB", Encoding.UTF8.GetBytes(Set(StoreJson, "x", new string('x', 1024 * 1024))), Event,
            ReasonCodes.OversizedRecord);

        // Text: lone surrogates (well-formed JSON, not text), lengths, nulls.
        Add("lone surrogate in event_id", StoreJson.Replace("\"pos-1\"", "\"\\ud800\"", StringComparison.Ordinal), Event, Sv);
        Add("lone surrogate in store_id", StoreJson.Replace("\"store-1\"", "\"\\ud800x\"", StringComparison.Ordinal), Event, Sv);
        Add("lone low surrogate in a category", StoreJson.Replace("\"food\"", "\"\\udc00\"", StringComparison.Ordinal), Event, Sv);
        Add("lone surrogate in a pseudonym", StoreJson.Replace("\"k1:0123", "\"\\ud800k1:0123", StringComparison.Ordinal), Event, Sv);
        Add("lone surrogate in a property name", StoreJson.Replace("\"store_id\"", "\"\\ud800\"", StringComparison.Ordinal), Event, Sv);
        Add("null event_id", Set(StoreJson, "event_id", null), Event, Sv);
        Add("empty event_id", Set(StoreJson, "event_id", ""), Event, Sv);
        Add("event_id of 129 characters", Set(StoreJson, "event_id", new string('e', 129)), Event, Sv);
        Add("event_id of 1 MB", Set(StoreJson, "event_id", new string('e', 1_000_000)), Event, Sv);
        Add("event_id a number", Set(StoreJson, "event_id", 42), Event, Sv);
        Add("store_id null", Set(StoreJson, "store.store_id", null), Event, Sv);
        Add("store_id of 257 characters", Set(StoreJson, "store.store_id", new string('s', 257)), Event, Sv);
        Add("category of 300 KB non-ASCII", Set(StoreJson, "store.categories.0.category", new string('é', 300_000)), Event, Sv);
        Add("event_type an object", Set(ClickJson, "clickstream.event_type", new JsonObject()), Event, Sv);

        // Identifiers.
        Add("identifiers null", Set(StoreJson, "identifiers", null), Event, Sv);
        Add("identifiers an object", Set(StoreJson, "identifiers", new JsonObject()), Event, Sv);
        Add("identifier null", Set(StoreJson, "identifiers", new JsonArray((JsonNode?)null)), Event, Sv);
        Add("17 identifiers", Set(StoreJson, "identifiers", new JsonArray([.. Enumerable.Range(0, 17).Select(i =>
            (JsonNode?)new JsonObject { ["type"] = "device", ["pseudonym"] = $"k1:d{i}" })])), Event, Sv);
        Add("10,000 identifiers", Set(StoreJson, "identifiers", new JsonArray([.. Enumerable.Range(0, 10_000).Select(i =>
            (JsonNode?)new JsonObject { ["type"] = "device", ["pseudonym"] = $"k1:d{i}" })])), Event, Sv);
        Add("identifier type an integer", Set(StoreJson, "identifiers.0.type", 99), Event, Sv);
        Add("identifier type unknown", Set(StoreJson, "identifiers.0.type", "passport"), Event, Sv);
        Add("pseudonym null", Set(StoreJson, "identifiers.0.pseudonym", null), Event, Sv);
        Add("pseudonym with a space", Set(StoreJson, "identifiers.0.pseudonym", "k1:ab cd"), Event, Sv);
        Add("pseudonym blank", Set(StoreJson, "identifiers.0.pseudonym", " "), Event, Sv);
        Add("pseudonym non-ASCII", Set(StoreJson, "identifiers.0.pseudonym", "k1:é"), Event, Sv);
        Add("pseudonym of 129 characters", Set(StoreJson, "identifiers.0.pseudonym", new string('a', 129)), Event, Sv);
        Add("pseudonym an email", Set(StoreJson, "identifiers.0.pseudonym", "jane doe@example.com"), Event, Sv);

        // Channel, time, source, flags.
        Add("channel consent on an event", Set(StoreJson, "channel", "consent"), Event, Sv);
        Add("channel an integer", Set(StoreJson, "channel", 7), Event, Sv);
        Add("channel unknown", Set(StoreJson, "channel", "fax"), Event, Sv);
        Add("section of another channel", Set(StoreJson, "channel", "social"), Event, Sv);
        Add("section missing", Remove(StoreJson, "store"), Event, Sv);
        Add("section null", Set(StoreJson, "store", null), Event, Sv);
        Add("occurred_at missing", Remove(StoreJson, "occurred_at"), Event, Sv);
        Add("occurred_at not a time", Set(StoreJson, "occurred_at", "yesterday"), Event, Sv);
        Add("occurred_at 1e400", StoreJson.Replace("\"2026-11-01T08:00:00Z\"", "1e400", StringComparison.Ordinal), Event, Or);
        Add("source null", Set(StoreJson, "source", null), Event, Sv);
        Add("source topic a path", Set(StoreJson, "source.topic", "../profiles"), Event, Sv);
        Add("source topic empty", Set(StoreJson, "source.topic", ""), Event, Sv);
        Add("source topic of 250 characters", Set(StoreJson, "source.topic", new string('t', 250)), Event, Sv);
        Add("source partition negative", Set(StoreJson, "source.partition", -1), Event, Sv);
        Add("source offset negative", Set(StoreJson, "source.offset", -1), Event, Sv);
        Add("source partition beyond int", Set(StoreJson, "source.partition", 1L << 40), Event, Sv);
        Add("flags null", Set(StoreJson, "flags", null), Event, Sv);
        Add("17 flags", Set(StoreJson, "flags", new JsonArray([.. Enumerable.Range(0, 17).Select(_ => (JsonNode?)"total_mismatch")])), Event, Sv);
        Add("flag of 65 characters", Set(StoreJson, "flags", new JsonArray((JsonNode?)new string('f', 65))), Event, Sv);

        // Numbers at every limit.
        Add("total 1e400", StoreJson.Replace("\"total\":100", "\"total\":1e400", StringComparison.Ordinal), Event, Or);
        Add("total -1e400", StoreJson.Replace("\"total\":100", "\"total\":-1e400", StringComparison.Ordinal), Event, Or);
        Add("total negative", Set(StoreJson, "store.total", -0.01), Event, Or);
        Add("total a string", Set(StoreJson, "store.total", "100"), Event, Sv);
        Add("total NaN string", Set(StoreJson, "store.total", "NaN"), Event, Sv);
        Add("total Infinity string", Set(StoreJson, "store.total", "Infinity"), Event, Sv);
        Add("discount above 100", Set(StoreJson, "store.discount_pct", 100.5), Event, Or);
        Add("discount negative", Set(StoreJson, "store.discount_pct", -1), Event, Or);
        Add("item_count negative", Set(StoreJson, "store.item_count", -5), Event, Or);
        Add("item_count beyond long", StoreJson.Replace("\"item_count\":2", "\"item_count\":99999999999999999999", StringComparison.Ordinal), Event, Or);
        Add("item_count fractional", Set(StoreJson, "store.item_count", 2.5), Event, Sv);
        Add("category amount negative", Set(StoreJson, "store.categories.0.amount", -1), Event, Or);
        Add("category quantity negative", Set(StoreJson, "store.categories.0.quantity", -1), Event, Or);
        Add("category null", Set(StoreJson, "store.categories", new JsonArray((JsonNode?)null)), Event, Sv);
        Add("1001 categories", Set(StoreJson, "store.categories", new JsonArray([.. Enumerable.Range(0, 1001).Select(i =>
            (JsonNode?)new JsonObject { ["category"] = $"c{i}", ["quantity"] = 1, ["amount"] = 1 })])), Event, Sv);
        Add("dwell negative", Set(ClickJson, "clickstream.dwell_ms", -1), Event, Or);
        Add("revenue negative", Set(ClickJson, "clickstream.revenue", -40), Event, Or);
        Add("revenue 1e400", ClickJson.Replace("\"revenue\":40", "\"revenue\":1e400", StringComparison.Ordinal), Event, Or);
        Add("call sentiment above 1", Set(CallJson, "callcenter.sentiment", 1.5), Event, Or);
        Add("call duration negative", Set(CallJson, "callcenter.duration_s", -300), Event, Or);
        Add("resolved a string", Set(CallJson, "callcenter.resolved", "yes"), Event, Sv);
        Add("social sentiment below -1", Set(SocialJson, "social.sentiment", -2), Event, Or);
        Add("followers negative", Set(SocialJson, "social.followers", -1), Event, Or);
        Add("negative zero is zero", Set(StoreJson, "store.total", -0.0), Event, "accepted");

        // Consent commands.
        Add("consent action an integer", Set(ConsentJson, "action", 9), Consent, Sv);
        Add("consent action unknown", Set(ConsentJson, "action", "delete_everything"), Consent, Sv);
        Add("consent pseudonym with a space", Set(ConsentJson, "pseudonym", "k1:a b"), Consent, Sv);
        Add("consent pseudonym missing", Remove(ConsentJson, "pseudonym"), Consent, Sv);
        Add("consent identifier type an integer", Set(ConsentJson, "identifier_type", 12), Consent, Sv);
        Add("consent event_id null", Set(ConsentJson, "event_id", null), Consent, Sv);
        Add("consent event_id with NUL", Set(ConsentJson, "event_id", "c\u00001"), Consent, Sv);
        Add("event event_id with NUL is used (nothing stores it)", Set(StoreJson, "event_id", "e\u00001"), Event, "accepted");
        Add("consent source missing", Remove(ConsentJson, "source"), Consent, Sv);
        Add("consent occurred_at missing", Remove(ConsentJson, "occurred_at"), Consent, Sv);
        return data;
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Read_ARecordIngestNeverWrites_IsQuarantinedWithAReason_AndItsRecordIsBoundedAndQuotesNothing(
        string name, byte[] value, string? kind, string code)
    {
        var item = CanonicalRecordReader.Read(Position, value, kind);

        if (code == "accepted")
        {
            Assert.IsType<EventItem>(item);
            return;
        }

        var invalid = Assert.IsType<InvalidItem>(item);
        Assert.True(code == invalid.Reason.Code, $"{name}: {invalid.Reason.Code} ({invalid.Reason.Field}: {invalid.Reason.Detail})");
        var record = ProfileRecordWriter.InvalidCanonical(invalid, At);
        Assert.InRange(record.Length, 1, InternalQuarantineRecord.MaxBytes);
        var json = JsonDocument.Parse(record).RootElement;
        Assert.Equal(JsonValueKind.Null, json.GetProperty("record").ValueKind);
        Assert.Equal(value.Length, json.GetProperty("raw_bytes").GetInt32());
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(value)), json.GetProperty("raw_sha256").GetString());
        Assert.Equal(code, json.GetProperty("reasons")[0].GetProperty("code").GetString());
        // Nothing of the record, its kind header or its key is quoted.
        var text = Encoding.UTF8.GetString(record);
        Assert.DoesNotContain("store-1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("k1:", text, StringComparison.Ordinal);
        Assert.DoesNotContain("kkkk", text, StringComparison.Ordinal);
        Assert.DoesNotContain("doe@", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_AnInvalidRecordWithAWellFormedEventId_KeepsTheId_AndTheKeyIsThePosition()
    {
        var invalid = Assert.IsType<InvalidItem>(CanonicalRecordReader.Read(Position, Encoding.UTF8.GetBytes(Set(StoreJson, "store.total", -1)), Event));

        Assert.Equal("pos-1", invalid.EventId);
        Assert.Equal("streams.canonical-events/3/41", Encoding.UTF8.GetString(InternalQuarantineRecord.Key(Position.Topic, Position.Partition, Position.Offset)));
    }

    [Fact]
    public void Cut_NeverLeavesHalfASurrogatePair_NorALoneOne()
    {
        // Built in code: a lone surrogate does not survive an attribute's metadata.
        var lone = new string('\ud800', 1);
        var low = new string('\udc00', 1);

        Assert.Equal("plain", InternalQuarantineRecord.Cut("plain", 300));
        Assert.Equal("😀", InternalQuarantineRecord.Cut("😀😀", 3));
        Assert.Equal("", InternalQuarantineRecord.Cut("😀", 1));
        Assert.Equal("a\uFFFDb", InternalQuarantineRecord.Cut("a" + lone + "b", 10));
        Assert.Equal("ab\uFFFD", InternalQuarantineRecord.Cut("ab" + low, 10));
        Assert.Equal("\uFFFD😀", InternalQuarantineRecord.Cut(low + "😀", 10));
    }

    /// <summary><paramref name="json"/> with the value at <paramref name="path"/> (dot-separated, array indexes as numbers) set.</summary>
    private static string Set(string json, string path, JsonNode? value)
    {
        var root = JsonNode.Parse(json)!;
        var parts = path.Split('.');
        var parent = parts[..^1].Aggregate(root, (node, part) => int.TryParse(part, out var i) ? node[i]! : node[part]!);
        if (int.TryParse(parts[^1], out var index))
        {
            parent[index] = value;
        }
        else
        {
            parent[parts[^1]] = value;
        }

        return root.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    private static string Remove(string json, string property)
    {
        var root = JsonNode.Parse(json)!.AsObject();
        root.Remove(property);
        return root.ToJsonString();
    }

    /// <summary>The UTF-8 of <paramref name="json"/> with <paramref name="text"/> replaced by raw <paramref name="bytes"/>.</summary>
    private static byte[] Patch(string json, string text, byte[] bytes)
    {
        var at = json.IndexOf(text, StringComparison.Ordinal);
        return [.. Encoding.UTF8.GetBytes(json[..at]), .. bytes, .. Encoding.UTF8.GetBytes(json[(at + text.Length)..])];
    }
}
