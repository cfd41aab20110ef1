using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Streams.Contracts.Outputs;
using Streams.Ingest.Worker;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Ingest;

/// <summary>
/// Records that pass the door but cannot be written as they are (a derived amount that overflows, an output larger
/// than the producer takes, a key near the message limit), each keyed by a customer's e-mail address and followed by a
/// clean sentinel: every one is quarantined with its reason, every sentinel comes through, the worker never starts
/// over, and no key or value of any output holds the address.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class IngestUnwritableRecordTests(KafkaFixture kafka, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task UnwritableRecords_AreQuarantined_SentinelsComeThrough_AndTheWorkerNeverRestarts()
    {
        // One partition: the sentinel behind each hostile record is stuck behind it if the worker is.
        var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
        await using var host = await InProcessHost.StartAsync(kafka, postgres, topics);
        const string email = "Unwritable.Customer@Leak-Test.example";
        var cases = new (string Name, byte[]? Key, byte[] Value, string Code)[]
        {
            ("line overflows", Utf8(email), Store("h-line", Items((2, 1e308))), "out_of_range"),
            ("sum overflows", Utf8(email), Store("h-sum", Items((1, 1e308), (1, 1e308))), "out_of_range"),
            ("output too large", Utf8(email), Store("h-big", DistinctLongCategories()), "oversized_record"),
            ("340 KB category", Utf8(email), Store("h-category", Items((1, 1.0)), category: new string('é', 170_000)), "schema_violation"),
            ("900 KB key", Utf8(email + new string('k', 900_000)), Utf8("{\"event_id\": "), "malformed_json"),
        };

        // Measured at the position it will have: the source is part of the canonical event.
        var atTheLimit = AtTheLimit(host.Get<Streams.Ingest.IngestPipeline>(), new Streams.Contracts.SourcePosition(topics.Names.Store, 0, 2 * cases.Length));
        var names = new Dictionary<long, string>();
        var sentinels = new List<string>();
        using (var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
               {
                   BootstrapServers = kafka.BootstrapServers,
                   MessageMaxBytes = 8 * 1024 * 1024,
               }).Build())
        {
            foreach (var (name, key, value, _) in cases)
            {
                var delivered = await producer.ProduceAsync(topics.Names.Store, new Message<byte[]?, byte[]> { Key = key, Value = value });
                names[delivered.Offset.Value] = name;
                var sentinel = $"sentinel-{sentinels.Count}";
                sentinels.Add(sentinel);
                await producer.ProduceAsync(topics.Names.Store, new Message<byte[]?, byte[]>
                {
                    Key = Utf8(email), Value = Utf8(SampleEvents.Store(sentinel, loyaltyId: "AB-" + sentinels.Count)),
                });
            }

            // The largest output ingest writes must still be one the producer and the broker take.
            sentinels.Add("h-limit");
            await producer.ProduceAsync(topics.Names.Store, new Message<byte[]?, byte[]> { Key = Utf8(email), Value = atTheLimit });
        }

        var canonical = await TopicReader.WaitForAsync(kafka.BootstrapServers, [topics.Names.Canonical],
            r => r.Count >= sentinels.Count, Patience);
        var quarantine = await TopicReader.WaitForAsync(kafka.BootstrapServers, [$"{topics.Names.Store}.quarantine"],
            r => r.Count >= cases.Length, Patience);

        var problems = string.Join('\n', host.Logs.Lines.Where(l => l.StartsWith("Warn", StringComparison.Ordinal) || l.StartsWith("Error", StringComparison.Ordinal)));
        var canonicalText = string.Join('\n', canonical.Select(r => Encoding.UTF8.GetString(r.Message.Value!)));
        foreach (var sentinel in sentinels)
        {
            Assert.True(canonicalText.Contains($"\"{sentinel}\"", StringComparison.Ordinal), $"{sentinel} did not come through; log: {problems}");
        }

        Assert.Equal(sentinels.Count, canonical.Count);
        Assert.Equal(cases.Length, quarantine.Count);
        foreach (var (name, _, _, code) in cases)
        {
            var record = Assert.Single(quarantine, r => names.GetValueOrDefault(OutputHeaders.Read(r.Message.Headers)!.Value.Source.Offset) == name);
            using var json = JsonDocument.Parse(record.Message.Value!);
            var codes = json.RootElement.GetProperty("reasons").EnumerateArray().Select(r => r.GetProperty("code").GetString()).ToList();
            Assert.True(codes.Contains(code), $"{name}: expected {code}, got {string.Join(",", codes)}");
            Assert.Equal("quarantined", json.RootElement.GetProperty("disposition").GetString());
            Assert.True(record.Message.Key!.Length <= 128, $"{name}: a key of {record.Message.Key.Length} bytes");
        }

        // The address in any form an output could carry it: raw, lower-cased, or escaped inside JSON.
        foreach (var output in canonical.Concat(quarantine))
        {
            var key = output.Message.Key is null ? "" : Encoding.UTF8.GetString(output.Message.Key);
            var value = output.Message.Value is null ? "" : DecodedText(output.Message.Value);
            Assert.DoesNotContain(email, key, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(email, value, StringComparison.OrdinalIgnoreCase);
            Assert.True(output.Message.Value!.Length <= OutputProducer.MaxValueBytes);
        }

        Assert.DoesNotContain(host.Logs.Lines, l => l.Contains("session failed", StringComparison.Ordinal));
        Assert.DoesNotContain(email, host.Logs.Text, StringComparison.OrdinalIgnoreCase);
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>
    /// A clean store record whose canonical event is within 300 bytes of <see cref="OutputProducer.MaxValueBytes"/>:
    /// lines with long non-ASCII categories, then one whose category fills the rest.
    /// </summary>
    private static byte[] AtTheLimit(Streams.Ingest.IngestPipeline pipeline, Streams.Contracts.SourcePosition source)
    {
        int CanonicalBytes(JsonArray items) =>
            Streams.Contracts.Canonical.CanonicalJson.Serialize(pipeline.Process(Streams.Contracts.Channel.Store, source, Store("h-limit", items, total: 0)).Event!).Length;

        // Every long line adds the same number of bytes: start from the estimate, step back until it fits.
        JsonArray Lines(int count) => new([.. DistinctLongCategories().Take(count).Select(i => i!.DeepClone())]);
        var one = CanonicalBytes(Lines(1));
        var perLine = CanonicalBytes(Lines(2)) - one;
        var count = 1 + ((OutputProducer.MaxValueBytes - one) / perLine);
        while (CanonicalBytes(Lines(count)) > OutputProducer.MaxValueBytes)
        {
            count--;
        }

        var items = Lines(count);
        // One more line fills the gap: each 'é' of its category adds six bytes (escaped), each 'x' one.
        JsonArray WithLast(int wide, int narrow) => new([.. items.Select(i => i!.DeepClone()), new JsonObject
        {
            ["sku"] = "SKU-last", ["category"] = "last-" + new string('é', wide) + new string('x', narrow), ["quantity"] = 1, ["unit_price"] = 0,
        }]);
        var gap = OutputProducer.MaxValueBytes - CanonicalBytes(WithLast(0, 0));
        var wideCount = Math.Min(gap / 6, 250);
        var narrowCount = Math.Min(gap - (6 * wideCount), 250 - wideCount);
        for (; narrowCount >= 0; narrowCount--)
        {
            var filled = WithLast(wideCount, narrowCount);
            var size = CanonicalBytes(filled);
            if (size <= OutputProducer.MaxValueBytes)
            {
                Assert.True(size > OutputProducer.MaxValueBytes - 300, $"{size} bytes");
                return Store("h-limit", filled, total: 0);
            }
        }

        throw new InvalidOperationException("no record fits");
    }

    private static JsonArray Items(params (long Quantity, double UnitPrice)[] lines) =>
        new(lines.Select((l, i) => (JsonNode)new JsonObject
        {
            ["sku"] = $"SKU-{i}", ["category"] = "shoes", ["quantity"] = l.Quantity, ["unit_price"] = l.UnitPrice,
        }).ToArray());

    /// <summary>1000 lines, each with its own 256-character non-ASCII category: about 0.6 MB in, 1.6 MB escaped out.</summary>
    private static JsonArray DistinctLongCategories() =>
        new(Enumerable.Range(0, 1000).Select(i => (JsonNode)new JsonObject
        {
            ["sku"] = $"SKU-{i}", ["category"] = $"{i:D4}" + new string('é', 252), ["quantity"] = 1, ["unit_price"] = 0,
        }).ToArray());

    private static byte[] Store(string eventId, JsonArray items, string? category = null, double total = 1.0)
    {
        if (category is not null)
        {
            items[0]!["category"] = category;
        }

        var record = new JsonObject
        {
            ["event_id"] = eventId, ["occurred_at"] = SampleEvents.When(), ["store_id"] = "S-042", ["loyalty_id"] = "L-" + eventId,
            ["total"] = total, ["currency"] = "EUR", ["items"] = items.DeepClone(),
        };

        // Raw UTF-8, as producers write it: escaped, the input itself would grow past the input limit.
        return Utf8(record.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    /// <summary>The value and every string in it decoded, so an escaped address is found too.</summary>
    private static string DecodedText(byte[] json)
    {
        var text = new StringBuilder(Encoding.UTF8.GetString(json));
        try
        {
            using var document = JsonDocument.Parse(json);
            Collect(document.RootElement, text);
        }
        catch (JsonException)
        {
            // Not JSON: the raw text above is all there is.
        }

        return text.ToString();

        static void Collect(JsonElement element, StringBuilder text)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        Collect(property.Value, text);
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        Collect(item, text);
                    }

                    break;
                case JsonValueKind.String:
                    text.Append('\n').Append(element.GetString());
                    break;
                default:
                    break;
            }
        }
    }
}
