using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;

namespace Streams.UnitTests.Ingest;

/// <summary>
/// <see cref="CanonicalJson.DeserializeCanonicalEvent"/> reads the shape ingest writes by hand and leaves everything else
/// to the serializer: for every input, both must give the same event or both must throw.
/// </summary>
public sealed class CanonicalEventReaderTests
{
    private static readonly SourcePosition Source = new("store", 3, 42);
    private static readonly DateTimeOffset At = new(2026, 11, 28, 14, 3, 11, 250, TimeSpan.Zero);

    private static CanonicalEvent[] Samples()
    {
        CanonicalIdentifier[] ids = [new(IdentifierType.Email, "k1:e\u00e9\"x"), new(IdentifierType.Loyalty, "k1:l")];
        return
        [
            new(Channel.Clickstream, "c1", At, ids, [], Source)
            {
                Clickstream = new ClickstreamAttributes("purchase", "shoes", 1200, 19.99, "EUR", "mobile"),
            },
            new(Channel.Clickstream, "c2", At, [ids[0]], ["invalid_phone"], Source)
            {
                Clickstream = new ClickstreamAttributes("page_view", null, null, null, null, "bot"),
            },
            new(Channel.Store, "s1", At, ids, ["total_mismatch", "invalid_email"], Source)
            {
                Store = new StoreAttributes("S-1", 1e15, "EUR", 12.5, 4,
                    [new CategoryAmount("food", 3, 30.1234), new CategoryAmount("toys", 1, -0.0)], "card"),
            },
            new(Channel.Store, "s2", At, [], [], Source) { Store = new StoreAttributes("S-2", 0, "USD", null, 0, [], null) },
            new(Channel.Callcenter, "k1", At, ids, [], Source) { Callcenter = new CallcenterAttributes("complaint", 300, -0.75, false) },
            new(Channel.Social, "o1", At, ids, [], Source) { Social = new SocialAttributes("reddit", "review", 0.5, long.MaxValue) },
            new(Channel.Social, "o2", At, ids, [], Source) { Social = new SocialAttributes("tiktok", "like", null, null) },
        ];
    }

    // Outcomes are compared by what they serialize to, infinities included (1e999 reads as one).
    private static readonly JsonSerializerOptions Lenient = new(CanonicalJsonContext.Default.Options)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static TheoryData<string> Events()
    {
        var data = new TheoryData<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in Samples())
        {
            var json = Encoding.UTF8.GetString(CanonicalJson.Serialize(e));
            Add(json);
            // What ingest never writes but a record on the topic could still be.
            Add(json.Replace("{\"channel\"", "{\"extra\":[1,{\"a\":null}],\"channel\"", StringComparison.Ordinal));
            Add(json.Replace("\"event_id\"", "\"event_id\":\"first\",\"event_id\"", StringComparison.Ordinal));
            Add(json.Replace("\"event_id\"", "\"EVENT_ID\"", StringComparison.Ordinal));
            Add(json.Replace("\"event_id\":\"", "\"\\u0065vent_id\":\"", StringComparison.Ordinal));
            Add(json.Replace("\"channel\":\"", "\"channel\":\"X", StringComparison.Ordinal));
            Add(json.Replace("\"type\":\"email\"", "\"type\":0", StringComparison.Ordinal));
            Add(json.Replace("\"type\":\"email\"", "\"type\":\"EMAIL\"", StringComparison.Ordinal));
            Add(json.Replace("\"flags\":[]", "\"flags\":null", StringComparison.Ordinal));
            Add(json.Replace("\"flags\":[", "\"flags\":[null,", StringComparison.Ordinal));
            Add(json.Replace("\"partition\":3", "\"partition\":3.5", StringComparison.Ordinal));
            Add(json.Replace("\"offset\":42", "\"offset\":\"42\"", StringComparison.Ordinal));
            Add(json.Replace("\"occurred_at\":\"2026-11-28T14:03:11.25Z\"", "\"occurred_at\":\"yesterday\"", StringComparison.Ordinal));
            Add(json.Replace("\"identifiers\":[", "\"identifiers\":[null,", StringComparison.Ordinal));
            Add(json.Replace(",\"source\":{\"topic\":\"store\",\"partition\":3,\"offset\":42}", "", StringComparison.Ordinal));
            Add(json[..^1] + ",}");
            Add(json + " ");
            Add(json + " {}");
            Add(json[..(json.Length / 2)]);
        }

        foreach (var other in new[]
                 {
                     "{}", "null", "[]", "\"x\"", "{\"channel\":null}", "{\"channel\":1,\"event_id\":\"n\"}", "{\"identifiers\":{}}",
                     "{\"store\":{\"item_count\":1.0}}", "{\"social\":{\"followers\":99999999999999999999}}",
                     "{\"clickstream\":{\"revenue\":1e999}}", "{\"callcenter\":{\"resolved\":\"true\"}}", "{/*c*/}", "{\"a\":1}x",
                 })
        {
            Add(other);
        }

        return data;

        void Add(string json)
        {
            if (seen.Add(json))
            {
                data.Add(json);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Events))]
    public void DeserializeCanonicalEvent_AnyInput_AgreesWithTheSerializer(string json)
    {
        var utf8 = Encoding.UTF8.GetBytes(json);
        var expected = Outcome(() => JsonSerializer.Deserialize(utf8, CanonicalJsonContext.Default.CanonicalEvent));
        var actual = Outcome(() => CanonicalJson.DeserializeCanonicalEvent(utf8));

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void DeserializeCanonicalEvent_WhatIngestWrites_RoundTripsExactly()
    {
        foreach (var e in Samples())
        {
            var back = CanonicalJson.DeserializeCanonicalEvent(CanonicalJson.Serialize(e))!;

            Assert.Equal(CanonicalJson.Serialize(e), CanonicalJson.Serialize(back));
            Assert.Equal(e.Identifiers, back.Identifiers);
            Assert.Equal(e.Flags, back.Flags);
            Assert.Equal(e with { Identifiers = back.Identifiers, Flags = back.Flags, Store = back.Store }, back);
        }
    }

    [Fact]
    public void TryRead_WhatIngestWrites_TakesTheHandWrittenPath()
    {
        // The serializer would give the same events: without this, a hand-written reader that always declined would pass.
        foreach (var e in Samples())
        {
            Assert.True(CanonicalEventReader.TryRead(CanonicalJson.Serialize(e), out var back));
            Assert.Equal(CanonicalJson.Serialize(e), CanonicalJson.Serialize(back!));
        }
    }

    [Fact]
    public void TryRead_EscapedPropertyName_ReadsItUnescaped()
    {
        // Names are compared as bytes when unescaped; an escaped one still matches its name instead of declining.
        var e = Samples()[0];
        var json = Encoding.UTF8.GetString(CanonicalJson.Serialize(e))
            .Replace("\"event_id\":\"", "\"\\u0065vent_id\":\"", StringComparison.Ordinal);

        Assert.True(CanonicalEventReader.TryRead(Encoding.UTF8.GetBytes(json), out var back));
        Assert.Equal(CanonicalJson.Serialize(e), CanonicalJson.Serialize(back!));
    }

    // An event compares by what it serializes to (records hold lists, which compare by reference); a failure by its type.
    private static string Outcome(Func<CanonicalEvent?> read)
    {
        try
        {
            var e = read();
            return e is null ? "null" : JsonSerializer.Serialize(e, Lenient.GetTypeInfo(typeof(CanonicalEvent))) + NullsOf(e);
        }
        catch (JsonException)
        {
            return "JsonException";
        }
    }

    // Serialization leaves nulls out, so nulls inside lists are spelled out here.
    private static string NullsOf(CanonicalEvent e) =>
        $" ids:{e.Identifiers?.Count(i => i is null)} flags:{e.Flags?.Count(f => f is null)} source:{e.Source is null}";
}
