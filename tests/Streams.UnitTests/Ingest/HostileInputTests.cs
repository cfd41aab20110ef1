using System.Text;
using System.Text.Json.Nodes;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Quarantine;
using Streams.Ingest;
using Streams.Ingest.Quarantine;
using Streams.Ingest.Validation;
using static Streams.UnitTests.Ingest.IngestTestKit;

namespace Streams.UnitTests.Ingest;

/// <summary>Input built to break the worker: each gets the right code, and nothing throws.</summary>
public sealed class HostileInputTests
{
    private readonly IngestPipeline pipeline = Pipeline();

    [Fact]
    public void Process_RandomBytes_IsMalformedJsonForEveryChannel()
    {
        var random = new Random(20261128);
        foreach (var channel in Enum.GetValues<Channel>())
        {
            for (var i = 0; i < 200; i++)
            {
                var value = new byte[random.Next(0, 2048)];
                random.NextBytes(value);

                var outcome = pipeline.Process(channel, Source, value);

                Assert.Equal([ReasonCodes.MalformedJson], outcome.ReasonCodes);
                Assert.Null(outcome.Quarantine!.Record);
            }
        }
    }

    [Fact]
    public void Process_EmptyValue_IsMalformedJson() =>
        Assert.Equal([ReasonCodes.MalformedJson], pipeline.Process(Channel.Store, Source, ReadOnlyMemory<byte>.Empty).ReasonCodes);

    [Theory]
    [InlineData(new byte[] { 0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D })] // {"a":"\xC3("}
    [InlineData(new byte[] { 0x7B, 0x22, 0x65, 0x6D, 0x61, 0x69, 0x6C, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D })]
    [InlineData(new byte[] { 0x7B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x3A, 0x31, 0x7D })] // encoded surrogate as a key
    public void Process_InvalidUtf8_IsMalformedJson(byte[] value)
    {
        var outcome = pipeline.Process(Channel.Clickstream, Source, value);

        Assert.Equal([ReasonCodes.MalformedJson], outcome.ReasonCodes);
        Assert.Null(outcome.Quarantine!.Record);
        Assert.Equal(value.Length, outcome.Quarantine.RawBytes);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("42")]
    [InlineData("\"event\"")]
    [InlineData("[{\"event_id\": \"x\"}]")]
    [InlineData("{\"event_id\": \"x\",}")]
    [InlineData("{\"event_id\": \"x\"} {}")]
    [InlineData("{'event_id': 'x'}")]
    [InlineData("{\"event_id\": \"x\", \"event_id\": \"y\"}")]
    [InlineData("{\"a\": 1 /* comment */}")]
    [InlineData("{\"a\": NaN}")]
    public void Process_NotOneJsonObject_IsMalformedJson(string value)
    {
        var outcome = Process(Channel.Social, value);

        Assert.Equal([ReasonCodes.MalformedJson], outcome.ReasonCodes);
        Assert.Null(outcome.Quarantine!.Record);
        Assert.Null(outcome.Quarantine.EventId);
    }

    [Theory]
    [InlineData(63, false)]
    [InlineData(65, true)]
    [InlineData(100_000, true)]
    public void Process_DeepNesting_IsMalformedBeyond64Levels(int depth, bool malformed)
    {
        var value = Sample(Channel.Social).ToJsonString()[..^1] + ", \"extra\": " + new string('[', depth - 1) + new string(']', depth - 1) + "}";

        var codes = Process(Channel.Social, value).ReasonCodes;

        Assert.Equal(malformed, codes.SequenceEqual([ReasonCodes.MalformedJson]));
        Assert.True(malformed || codes.Count == 0);
    }

    [Fact]
    public void Process_LoneSurrogateEscape_IsSchemaViolationNotACrash()
    {
        var outcome = Process(Channel.Social, Sample(Channel.Social).ToJsonString().Replace("@JaneDoe", "\\ud800JaneDoe", StringComparison.Ordinal));

        Assert.Equal([ReasonCodes.SchemaViolation], outcome.ReasonCodes);
        Assert.Equal("***", outcome.Quarantine!.Record!.Value.GetProperty("handle").GetString());
        QuarantineJson.Serialize(outcome.Quarantine);
    }

    [Theory]
    [InlineData(Channel.Social, "platform")]
    [InlineData(Channel.Social, "interaction")]
    [InlineData(Channel.Clickstream, "event_type")]
    [InlineData(Channel.Callcenter, "reason")]
    [InlineData(Channel.Store, "payment")]
    [InlineData(Channel.Consent, "action")]
    [InlineData(Channel.Consent, "identifier_type")]
    public void Process_LoneSurrogateEscapeInAnEnumField_IsSchemaViolation_AndTheQuarantineRecordMasksIt(Channel channel, string field)
    {
        var sample = Sample(channel);
        sample[field] = "x";
        var value = sample.ToJsonString().Replace("\"x\"", "\"\\ud800\"", StringComparison.Ordinal);

        var outcome = Process(channel, value);

        Assert.Equal([ReasonCodes.SchemaViolation], outcome.ReasonCodes);
        Assert.Contains(outcome.Quarantine!.Reasons, r => r.Field == field);
        QuarantineJson.Serialize(outcome.Quarantine);
    }

    [Fact]
    public void Process_FiveMebibyteValue_IsOversizedWithoutParsing()
    {
        // Not even JSON: proves the size check comes before the parser.
        var value = new byte[5 * 1024 * 1024];
        Array.Fill(value, (byte)'{');

        var outcome = pipeline.Process(Channel.Store, Source, value);

        Assert.Equal([ReasonCodes.OversizedRecord], outcome.ReasonCodes);
        Assert.Equal(QuarantineDisposition.Quarantined, outcome.Quarantine!.Disposition);
        Assert.Null(outcome.Quarantine.Record);
        Assert.Equal(value.Length, outcome.Quarantine.RawBytes);
        Assert.Equal(KeyedDigest(value), outcome.Quarantine.RawSha256);
    }

    [Fact]
    public void Process_ValueAtTheLimit_IsParsed()
    {
        var pipelineWithSmallLimit = Pipeline(new IngestOptions { MaxRecordBytes = 2048 });
        var sample = Sample(Channel.Social).ToJsonString();
        var padded = sample[..^1] + ", \"pad\": \"" + new string('x', 2048 - sample.Length - 11) + "\"}";
        Assert.Equal(2048, Encoding.UTF8.GetByteCount(padded));

        Assert.Empty(pipelineWithSmallLimit.Process(Channel.Social, Source, Encoding.UTF8.GetBytes(padded)).ReasonCodes);
        Assert.Equal([ReasonCodes.OversizedRecord], pipelineWithSmallLimit.Process(Channel.Social, Source, Encoding.UTF8.GetBytes(padded + " ")).ReasonCodes);
    }

    [Theory]
    [InlineData(Channel.Clickstream)]
    [InlineData(Channel.Store)]
    [InlineData(Channel.Callcenter)]
    [InlineData(Channel.Social)]
    [InlineData(Channel.Consent)]
    public void Process_NumbersAsStrings_AreSchemaViolations(Channel channel)
    {
        var sample = Sample(channel, s =>
        {
            foreach (var (name, value) in s.ToList())
            {
                if (value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number)
                {
                    s[name] = v.ToJsonString();
                }
            }
        });

        var outcome = Process(channel, sample);

        Assert.Equal(channel == Channel.Consent ? [] : [ReasonCodes.SchemaViolation], outcome.ReasonCodes);
    }

    [Theory]
    [InlineData(Channel.Clickstream)]
    [InlineData(Channel.Store)]
    [InlineData(Channel.Callcenter)]
    [InlineData(Channel.Social)]
    [InlineData(Channel.Consent)]
    public void Process_NullsEverywhere_IsOneSchemaViolationPerRequiredField(Channel channel)
    {
        var sample = Sample(channel, s =>
        {
            foreach (var name in s.Select(p => p.Key).ToList())
            {
                s[name] = null;
            }
        });

        var outcome = Process(channel, sample);

        Assert.Equal([ReasonCodes.SchemaViolation], outcome.ReasonCodes);
        Assert.All(outcome.Quarantine!.Reasons, r => Assert.Equal("is required", r.Detail));
        Assert.Equal(IngestDisposition.Quarantined, outcome.Disposition);
        Assert.Null(outcome.Quarantine.EventId);
    }

    [Fact]
    public void Process_TenThousandItems_IsSchemaViolationWithBoundedRecord()
    {
        var items = new JsonArray();
        for (var i = 0; i < 10_000; i++)
        {
            items.Add(new JsonObject { ["sku"] = $"SKU-{i}", ["category"] = "c", ["quantity"] = 1, ["unit_price"] = 1 });
        }

        var outcome = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s["items"] = items;
            s["total"] = 10_000;
        }));

        Assert.Equal([ReasonCodes.SchemaViolation], outcome.ReasonCodes);
        Assert.Equal("items", Assert.Single(outcome.Quarantine!.Reasons).Field);
        Assert.Equal(50, outcome.Quarantine.Record!.Value.GetProperty("items").GetArrayLength());
    }

    [Theory]
    [InlineData("1")]
    [InlineData("\"sku\"")]
    [InlineData("null")]
    [InlineData("true")]
    public async Task Process_ScalarItemsBeforeAnItemObject_AreSchemaViolationsOnAFreshThread(string scalar)
    {
        // A thread that has indexed no store items yet: the items' indexes are kept by position, and a scalar takes a
        // position without an index.
        var value = Sample(Channel.Store, s =>
        {
            var items = new JsonArray
            {
                JsonNode.Parse(scalar), JsonNode.Parse(scalar),
                new JsonObject { ["sku"] = "SKU-1", ["category"] = "c", ["quantity"] = 1, ["unit_price"] = 1 },
            };
            s["items"] = items;
            s["total"] = 1;
        });
        var outcome = await Task.Factory.StartNew(
            () => Process(Channel.Store, value), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        Assert.Equal([ReasonCodes.SchemaViolation], outcome.ReasonCodes);
        Assert.Equal(["items[0]", "items[1]"], outcome.Quarantine!.Reasons.Select(r => r.Field));
    }

    [Fact]
    public void Process_ThousandItems_IsAccepted()
    {
        var items = new JsonArray();
        for (var i = 0; i < 1000; i++)
        {
            items.Add(new JsonObject { ["sku"] = $"SKU-{i}", ["category"] = $"c{i % 7}", ["quantity"] = 2, ["unit_price"] = 0.5 });
        }

        var outcome = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s["items"] = items;
            s["total"] = 1000;
        }));

        Assert.Empty(outcome.ReasonCodes);
        Assert.Equal(2000, outcome.Event!.Store!.ItemCount);
        Assert.Equal(7, outcome.Event.Store.Categories.Count);
    }

    [Fact]
    public void Process_HugeStrings_AreShortenedInTheMaskedCopy()
    {
        var outcome = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s["store_id"] = new string('s', 500_000);
            s["currency"] = "ZZZ";
        }));

        // Past its documented length the store id is a schema violation, and the masked copy still holds only its start.
        Assert.Equal([ReasonCodes.SchemaViolation, ReasonCodes.UnknownCurrency], outcome.ReasonCodes);
        Assert.True(QuarantineJson.Serialize(outcome.Quarantine!).Length < 4096);
    }

    [Fact]
    public void Process_ObjectsWhereScalarsBelong_AreMaskedNotCopied()
    {
        var outcome = Process(Channel.Clickstream, Sample(Channel.Clickstream, s =>
        {
            s["event_type"] = new JsonObject { ["email"] = "hidden@example.com" };
            s["dwell_ms"] = "hidden@example.com";
        }));

        Assert.Equal([ReasonCodes.SchemaViolation], outcome.ReasonCodes);
        Assert.DoesNotContain("hidden@example.com", AllOutput(outcome), StringComparison.OrdinalIgnoreCase);
    }
}
