using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Quarantine;
using Streams.Ingest;

namespace Streams.UnitTests.Ingest;

/// <summary>
/// The one-pass field index (and the duplicate check folded into it) against the thorough path it replaced: a strict
/// parse and a look-up per field. Records of every channel, spoiled at random in the ways the index treats specially,
/// must give byte-identical outputs, reason codes and dispositions both ways.
/// </summary>
public sealed class FieldIndexTests
{
    private static readonly string[] UnknownNames = ["extra", "note", "x", "emai", "email2", "event_idx", "Email", "ítem"];

    private static readonly string[] OddValues =
    [
        "null", "0", "-1", "1.5", "1e400", "true", "false", "\"\"", "\" \"", "\"\\ud800\"", "\"caf\\u00e9\"", "{}", "{\"a\":1}",
        "{\"a\":1,\"a\":2}", "[]", "[1,[2]]", "[{\"a\":1,\"\\u0061\":2}]", "\"jane.doe@example.com\"", "\"EUR\"", "9007199254740993",
    ];

    /// <summary>
    /// Values for the fields the indexed path reads from UTF-8 without a string when they are short ASCII without an
    /// escape: each side of every condition of that path.
    /// </summary>
    private static readonly Dictionary<string, string[]> TextValues = new()
    {
        ["\"occurred_at\""] =
        [
            "\"2026-11-28T14:03:11.250Z\"", "\"2026-11-28T14:03:11+14:30\"", "\"2026-11-28T14:03:11.123456789-03:00\"",
            "\"2026-02-30T14:03:11Z\"", "\"2026-11-28t14:03:11Z\"", "\"2026-11-28T14:03:60Z\"", "\"2099-01-01T00:00:00Z\"",
            "\"\\u0032026-11-28T14:03:11Z\"", "\"２026-11-28T14:03:11Z\"", "\"2026-11-28T14:03:11.25Zé\"", "\"\"", "\" \"",
            "\"2026-11-28T14:03:11." + new string('1', 40) + "Z\"", "\"2026-11-28T14:03:11." + new string('1', 44) + "Z\"",
            "\"2026-11-28T14:03:11." + new string('1', 45) + "Z\"", "\"\\ud800\"",
        ],
        ["\"currency\""] =
        [
            "\"EUR\"", "\"eur\"", "\"EU\\u0052\"", "\"XTS\"", "\"ÉUR\"", "\"EURO\"", "\"\"", "\" EUR\"", "\"HRK\"", "\"\\ud800\"",
            "\"" + new string('E', 17) + "\"",
        ],
    };

    private static readonly string[] Categories =
    [
        "\"shoes\"", "\"Shoes\"", "\"  SHOES \"", "\"sho\\u0065s\"", "\"Ünïcode\"", "\"" + new string('k', 32) + "\"",
        "\"" + new string('K', 33) + "\"", "\"" + new string('k', 257) + "\"", "\"\"", "\" \"", "\"\\ud800\"", "\"\\t\"", "\"İstanbul\"",
    ];

    private readonly IngestPipeline indexed = IngestTestKit.Pipeline();

    private readonly IngestPipeline thorough = new(
        IngestTestKit.Pseudonymizer(), Options.Create(new IngestOptions()), new FixedTimeProvider(IngestTestKit.Now)) { IndexFields = false };

    [Theory]
    [MemberData(nameof(ReasonCodeTests.Channels), MemberType = typeof(ReasonCodeTests))]
    public void Process_RandomlySpoiledRecords_SameOutputsAsThoroughPath(Channel channel)
    {
        var random = new Random(20261205 + (int)channel);
        var indexedCount = 0;
        for (var n = 0; n < 2000; n++)
        {
            var fields = Fields(IngestTestKit.Sample(channel));
            var mutations = random.Next(0, 4);
            for (var m = 0; m < mutations; m++)
            {
                Spoil(random, fields);
            }

            var raw = Encoding.UTF8.GetBytes(Write(fields));
            var expected = Judged(thorough, channel, raw);
            var actual = Judged(indexed, channel, raw);
            Assert.True(expected == actual, $"differs for {Encoding.UTF8.GetString(raw)}");
            indexedCount += actual.StartsWith(nameof(IngestDisposition.Accepted), StringComparison.Ordinal) ? 1 : 0;
        }

        // The comparison is only worth something if many records took the fast path and were accepted there.
        Assert.True(indexedCount > 100, $"only {indexedCount} accepted");
    }

    /// <summary>
    /// A record in the middle of a larger array (its fields' places are then counted from where it starts), or in memory
    /// that no array holds, is judged as it is on its own.
    /// </summary>
    [Theory]
    [MemberData(nameof(ReasonCodeTests.Channels), MemberType = typeof(ReasonCodeTests))]
    public void Process_RecordAtAnOffsetOrOutsideAnArray_SameOutputsAsOnItsOwn(Channel channel)
    {
        var random = new Random(20261207 + (int)channel);
        for (var n = 0; n < 300; n++)
        {
            var fields = Fields(IngestTestKit.Sample(channel));
            if (random.Next(2) == 0)
            {
                Spoil(random, fields);
            }

            var raw = Encoding.UTF8.GetBytes(Write(fields));
            var alone = Judged(indexed, channel, raw);
            var offset = 1 + random.Next(40);
            var larger = new byte[offset + raw.Length + random.Next(40)];
            larger.AsSpan().Fill((byte)'7');
            raw.CopyTo(larger, offset);

            Assert.Equal(alone, Judged(indexed, channel, larger.AsMemory(offset, raw.Length)));
            Assert.Equal(alone, Judged(indexed, channel, new NotAnArray(raw).Memory));
        }
    }

    /// <summary>Memory that does not say which array holds it, as a pooled or native buffer would not.</summary>
    private sealed class NotAnArray(byte[] bytes) : System.Buffers.MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => bytes;

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }

    /// <summary>
    /// A record of the usual shape is checked for well-formedness only by the index's own pass (no document is parsed):
    /// a syntax error anywhere in it, at its end or after it is still <c>malformed_json</c>, as on the thorough path.
    /// </summary>
    [Theory]
    [MemberData(nameof(ReasonCodeTests.Channels), MemberType = typeof(ReasonCodeTests))]
    public void Process_UsualShapeWithASyntaxError_IsMalformedJsonBothWays(Channel channel)
    {
        var json = IngestTestKit.Sample(channel).ToJsonString();
        // The comma before the last field (a comma inside a text would not break anything).
        var lastComma = json.LastIndexOf(",\"", StringComparison.Ordinal);
        string[] broken =
        [
            json + "x", json + " {}", json + ",", json + "]", json + " null", json[..^1], json[..^1] + ",}", json[..^1] + ",\"extra\":}",
            json.Remove(lastComma, 1), json.Insert(lastComma + 1, "/*c*/"), json.Insert(lastComma + 2, "\t"),
            json.Replace(":", "=", StringComparison.Ordinal), json[..(json.Length / 2)],
        ];

        foreach (var value in broken)
        {
            var raw = Encoding.UTF8.GetBytes(value);
            var codes = indexed.Process(channel, IngestTestKit.Source, raw).ReasonCodes;
            Assert.True(codes is [ReasonCodes.MalformedJson], $"[{string.Join(",", codes)}] for {value}");
            Assert.Equal(Judged(thorough, channel, raw), Judged(indexed, channel, raw));
        }
    }

    [Theory]
    [InlineData("\"event_id\": \"clk-2\"")]
    [InlineData("\"\\u0065vent_id\": \"clk-2\"")]
    [InlineData("\"ip\": null")]
    public void Process_DuplicateTopLevelField_IsMalformedJson(string duplicate)
    {
        var json = IngestTestKit.Sample(Channel.Clickstream).ToJsonString();
        var outcome = IngestTestKit.Process(Channel.Clickstream, "{" + duplicate + "," + json[1..]);
        Assert.Equal([ReasonCodes.MalformedJson], outcome.ReasonCodes);
    }

    /// <summary>
    /// The index tries first the field that followed the one before it last time, and that guess is remembered from
    /// record to record: records whose fields come in changing orders, with a field twice, an unknown one between, or
    /// white space where the guess expects none, must each come out as the thorough path judges them.
    /// </summary>
    [Theory]
    [MemberData(nameof(ReasonCodeTests.Channels), MemberType = typeof(ReasonCodeTests))]
    public void Process_FieldsInChangingOrders_SameOutputsAsThoroughPath(Channel channel)
    {
        var fields = Fields(IngestTestKit.Sample(channel));
        var reversed = Enumerable.Reverse(fields).ToList();
        var twice = fields.ToList();
        twice.Insert(2, fields[1]);
        var unknown = fields.ToList();
        unknown.Insert(2, ("\"note\"", "1"));
        string[] records =
        [
            Write(fields), Write(reversed), Write(fields), Write(twice), Write(fields), Write(unknown), Write(fields),
            Write(fields).Replace(",\"", ", \"", StringComparison.Ordinal), Write(reversed), Write(reversed), Write(fields),
        ];

        var accepted = 0;
        foreach (var record in records)
        {
            var raw = Encoding.UTF8.GetBytes(record);
            var actual = Judged(indexed, channel, raw);
            Assert.True(Judged(thorough, channel, raw) == actual, $"differs for {record}");
            accepted += actual.StartsWith(nameof(IngestDisposition.Accepted), StringComparison.Ordinal) ? 1 : 0;
        }

        Assert.Equal(records.Length - 1, accepted);
    }

    /// <summary>
    /// A receipt's line in the order tills write it has its names found by the order the lines before it had; every line
    /// that departs from that shape anywhere, before or after its usual fields, must come out as the thorough path judges it.
    /// </summary>
    [Theory]
    [InlineData("{\"sku\":\"SKU-2\",\"category\":\"accessories\",\"quantity\":3,\"unit_price\":4.5}", true)]
    [InlineData("{\"sku\":\"SK\\u0055-2\",\"category\":\"acc\\\"essories\",\"quantity\":3,\"unit_price\":4.5}", true)]
    [InlineData("{\"sku\":\"SKU-2\",\"category\":\"Ünïcode\",\"quantity\":3.0,\"unit_price\":45e-1}", true)]
    [InlineData("{ \"sku\" : \"SKU-2\" , \"category\": \"accessories\",\"quantity\":3,\"unit_price\":4.5 }", true)]
    [InlineData("{\"category\":\"accessories\",\"sku\":\"SKU-2\",\"quantity\":3,\"unit_price\":4.5}", true)]
    [InlineData("{\"sku\":\"SKU-2\",\"category\":\"accessories\",\"quantity\":3,\"unit_price\":4.5,\"note\":1}", true)]
    [InlineData("{\"sku\":\"SKU-2\",\"category\":\"accessories\",\"quantity\":\"3\",\"unit_price\":4.5}", false)]
    [InlineData("{\"sku\":\"SKU-2\",\"category\":\"accessories\",\"quantity\":3,\"unit_price\":null}", false)]
    [InlineData("{\"sku\":\"SKU-2\",\"category\":\"accessories\",\"quantity\":3,\"unit_price\":-4.5}", false)]
    [InlineData("{\"sku\":\"SKU-2\",\"category\":\"accessories\",\"quantity\":3}", false)]
    [InlineData("{\"sku\":\"SKU-2\",\"category\":{\"a\":1},\"quantity\":3,\"unit_price\":4.5}", false)]
    [InlineData("{\"sku\":\"SKU-2\",\"category\":\"accessories\",\"quantity\":3,\"unit_price\":4.5,\"unit_price\":4.5}", false)]
    [InlineData("{\"sku\":\"SKU-2\",\"category\":\"accessories\",\"quantity\":3,\"unit_price\":4.5,\"sku\":\"SKU-3\"}", false)]
    [InlineData("{\"sku\":\"SKU-2\",\"category\":\"accessories\",\"quantity\":3,\"unit_price\":4.5x}", false)]
    [InlineData("{\"sku\":\"SKU-2\",\"category\":\"accessories\",\"quantity\":3,\"unit_price\":4.5", false)]
    public void Process_StoreLineOfTheUsualShapeOrNot_SameOutputsAsThoroughPath(string line, bool accepted)
    {
        var json = IngestTestKit.Sample(Channel.Store).ToJsonString();
        var usual = "{\"sku\":\"SKU-2\",\"category\":\"accessories\",\"quantity\":3,\"unit_price\":4.5}";
        Assert.Contains(usual, json, StringComparison.Ordinal);
        // The line second, behind a usual one, and alone in a receipt of its own.
        foreach (var value in new[] { json.Replace(usual, line, StringComparison.Ordinal), json.Replace(usual, line + "," + usual, StringComparison.Ordinal) })
        {
            var raw = Encoding.UTF8.GetBytes(value);
            var actual = Judged(indexed, Channel.Store, raw);
            Assert.Equal(Judged(thorough, Channel.Store, raw), actual);
            Assert.True(
                actual.StartsWith(nameof(IngestDisposition.Accepted), StringComparison.Ordinal) == accepted || value.Contains(line + ",", StringComparison.Ordinal),
                $"{actual[..Math.Min(actual.Length, 60)]} for {value}");
        }
    }

    [Fact]
    public void Process_DuplicateFieldInStoreItem_IsMalformedJson()
    {
        var json = IngestTestKit.Sample(Channel.Store).ToJsonString().Replace("\"sku\":\"SKU-2\"", "\"sku\":\"SKU-2\",\"sku\":\"SKU-3\"", StringComparison.Ordinal);
        Assert.Equal([ReasonCodes.MalformedJson], IngestTestKit.Process(Channel.Store, json).ReasonCodes);
    }

    [Fact]
    public void Process_DuplicateUnknownField_IsMalformedJson()
    {
        var json = IngestTestKit.Sample(Channel.Social).ToJsonString();
        var outcome = IngestTestKit.Process(Channel.Social, "{\"extra\":1,\"extra\":1," + json[1..]);
        Assert.Equal([ReasonCodes.MalformedJson], outcome.ReasonCodes);
    }

    /// <summary>
    /// What the pipeline makes of the record, serialized; or the exception it throws (a lone surrogate escaped in an
    /// enum field throws from <see cref="System.Text.Json.JsonElement.ValueEquals(string)"/> on both paths alike, and
    /// <see cref="IngestPipeline.Handle"/> quarantines it as <c>processing_error</c>).
    /// </summary>
    private static string Judged(IngestPipeline pipeline, Channel channel, ReadOnlyMemory<byte> raw)
    {
        IngestOutcome outcome;
        try
        {
            outcome = pipeline.Process(channel, IngestTestKit.Source, raw);
        }
        catch (InvalidOperationException e)
        {
            return "throws " + e.GetType().Name;
        }


        var parts = new List<string> { outcome.Disposition.ToString(), string.Join(",", outcome.ReasonCodes) };
        if (outcome.CanonicalValue is { } value)
        {
            // Written from the judged parts, never from an event's objects: the serializer's bytes for the event they are.
            var reference = JsonSerializer.SerializeToUtf8Bytes(outcome.Event!, CanonicalJsonContext.Default.CanonicalEvent);
            Assert.Equal(Encoding.UTF8.GetString(reference), Encoding.UTF8.GetString(value));
            parts.Add(Convert.ToBase64String(value));
        }

        if (outcome.Consent is not null)
        {
            parts.Add(Convert.ToBase64String(CanonicalJson.Serialize(outcome.Consent)));
        }

        if (outcome.Quarantine is not null)
        {
            parts.Add(Convert.ToBase64String(QuarantineJson.Serialize(outcome.Quarantine)));
        }

        return string.Join("|", parts);
    }

    private static List<(string Name, string Value)> Fields(JsonObject sample) =>
        [.. sample.Select(p => ($"\"{p.Key}\"", p.Value?.ToJsonString() ?? "null"))];

    private static string Write(List<(string Name, string Value)> fields) =>
        "{" + string.Join(",", fields.Select(f => f.Name + ":" + f.Value)) + "}";

    private static void Spoil(Random random, List<(string Name, string Value)> fields)
    {
        var i = random.Next(fields.Count);
        switch (random.Next(10))
        {
            case 9: // a value the indexed path reads from UTF-8
                var texts = Enumerable.Range(0, fields.Count).Where(t => TextValues.ContainsKey(fields[t].Name)).ToList();
                if (texts.Count > 0)
                {
                    var at = texts[random.Next(texts.Count)];
                    fields[at] = (fields[at].Name, Pick(random, TextValues[fields[at].Name]));
                }

                break;
            case 0: // the same field twice, with its own or another value
                fields.Insert(random.Next(fields.Count + 1), (fields[i].Name, random.Next(2) == 0 ? fields[i].Value : Pick(random, OddValues)));
                break;
            case 1: // a name spelled with an escape
                fields[i] = ($"\"\\u{(int)fields[i].Name[1]:x4}{fields[i].Name[2..]}", fields[i].Value);
                break;
            case 2: // an unknown field, perhaps twice
                fields.Insert(random.Next(fields.Count + 1), ($"\"{Pick(random, UnknownNames)}\"", Pick(random, OddValues)));
                break;
            case 3: // a value of another kind
                fields[i] = (fields[i].Name, Pick(random, OddValues));
                break;
            case 4:
                fields.RemoveAt(i);
                break;
            case 5: // more unknown fields than the index compares
                for (var u = 0; u < 9; u++)
                {
                    fields.Add(($"\"extra{u}\"", "1"));
                }

                break;
            case 6:
                var moved = fields[i];
                fields.RemoveAt(i);
                fields.Insert(random.Next(fields.Count + 1), moved);
                break;
            case 7: // a store item spoiled the same ways
                var items = fields.FindIndex(f => f.Name == "\"items\"");
                if (items >= 0)
                {
                    fields[items] = (fields[items].Name, SpoilItems(random, fields[items].Value));
                }

                break;
            default: // a field of another channel
                fields.Insert(random.Next(fields.Count + 1), ("\"items\"", "[{\"sku\":\"A\",\"category\":\"x\",\"quantity\":1,\"unit_price\":1}]"));
                break;
        }
    }

    private static string SpoilItems(Random random, string items)
    {
        var category = items.IndexOf("\"category\":", StringComparison.Ordinal);
        if (category >= 0 && items.IndexOf(',', category) is > 0 and var end && random.Next(3) == 0)
        {
            // Another category for one item, and perhaps something other than an object before the items.
            var at = category + "\"category\":".Length;
            var changed = items[..at] + Pick(random, Categories) + items[end..];
            return random.Next(2) == 0 ? changed : "[2," + changed[1..];
        }

        var spoiled = random.Next(6) switch
        {
            0 => "\"sku\":\"SKU-9\",\"sku\":",
            1 => "\"\\u0073ku\":",
            2 => "\"note\":1,\"note\":2,\"sku\":",
            3 => "\"nested\":{\"a\":1},\"sku\":",
            4 => "\"note\":[1],\"sku\":",
            _ => "\"sku\":null,\"x\":",
        };
        var text = items.Replace("\"sku\":", spoiled, StringComparison.Ordinal);
        return random.Next(4) == 0 ? text[..^1] + ",[1],2,\"x\"]" : text;
    }

    private static string Pick(Random random, string[] values) => values[random.Next(values.Length)];

    [Fact]
    public void FieldTable_FindsEveryNameFromEveryStart_AndNoNameThatOnlySharesItsFirstBytes()
    {
        var table = Streams.Ingest.Validation.FieldTable.Store;
        string[] names = ["event_id", "occurred_at", "loyalty_id", "email", "phone", "customer_name", "store_id", "total", "currency",
            "discount_pct", "payment", "items"];
        for (var from = 0; from <= names.Length + 1; from++)
        {
            for (var i = 0; i < names.Length; i++)
            {
                Assert.Equal(i, table.IndexOf(Encoding.UTF8.GetBytes(names[i]), from));
            }

            foreach (var other in (string[])["", "e", "email\0", "emai", "event_i", "event_idx", "event_id ", "discount_pc", "discount_pctx",
                         "customer_nam", "Email", "items\u0000"])
            {
                Assert.Equal(-1, table.IndexOf(Encoding.UTF8.GetBytes(other), from));
            }
        }
    }
}
