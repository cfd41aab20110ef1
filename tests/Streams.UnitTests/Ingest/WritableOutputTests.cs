using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Streams.Contracts;
using Streams.Contracts.Quarantine;
using Streams.Ingest;
using Streams.Ingest.Channels;
using Streams.Ingest.Quarantine;
using Streams.Ingest.Validation;
using static Streams.UnitTests.Ingest.IngestTestKit;

namespace Streams.UnitTests.Ingest;

/// <summary>
/// Every record that passes validation can be written, and one that cannot be written is quarantined instead of
/// stopping the worker: derived numbers that overflow, outputs larger than the producer takes, a stage that throws,
/// strings past their documented length. Quarantine records never carry the input key or an unkeyed digest.
/// </summary>
public sealed class WritableOutputTests
{
    private readonly IngestPipeline pipeline = Pipeline();

    [Fact]
    public void Handle_LineAmountOverflows_IsOutOfRangeAndNothingThrows()
    {
        var sample = Sample(Channel.Store, s => s["items"] = Items(("SKU-1", "shoes", 2, 1e308)));

        var result = Handle(sample);

        Assert.Equal(IngestDisposition.Quarantined, result.Outcome.Disposition);
        Assert.Contains(ReasonCodes.OutOfRange, result.Outcome.ReasonCodes);
        Assert.Equal("items[0]", Assert.Single(QuarantineOf(result).Reasons, r => r.Code == ReasonCodes.OutOfRange).Field);
        Assert.DoesNotContain(result.Outputs, o => o.Kind != "quarantine");
    }

    [Fact]
    public void Handle_SumOfLinesOverflows_IsOutOfRange()
    {
        // Each line fits a double; their sum does not.
        var sample = Sample(Channel.Store, s => s["items"] = Items(("SKU-1", "shoes", 1, 1e308), ("SKU-2", "shoes", 1, 1e308)));

        var result = Handle(sample);

        Assert.Equal(IngestDisposition.Quarantined, result.Outcome.Disposition);
        Assert.Equal("items", Assert.Single(QuarantineOf(result).Reasons, r => r.Code == ReasonCodes.OutOfRange).Field);
    }

    [Fact]
    public void Handle_SumOfQuantitiesBeyondTwoToThe53_IsOutOfRange()
    {
        var sample = Sample(Channel.Store, s => s["items"] = Items(("SKU-1", "a", 9_007_199_254_740_991, 0), ("SKU-2", "b", 2, 0)));

        Assert.Contains(ReasonCodes.OutOfRange, Handle(sample).Outcome.ReasonCodes);
    }

    [Fact]
    public void Handle_LargestWritableLine_IsAccepted()
    {
        var sample = Sample(Channel.Store, s =>
        {
            s["items"] = Items(("SKU-1", "shoes", 1, 1e308));
            s["total"] = 1e308;
        });

        var result = Handle(sample);

        Assert.Equal(IngestDisposition.Accepted, result.Outcome.Disposition);
        Assert.Single(result.Outputs, o => o.Kind == "event");
    }

    [Fact]
    public void Write_CanonicalValueTheWriterRefuses_IsQuarantinedAsProcessingError()
    {
        // Validation never hands the writer a value it refuses; a consent command without its source is planted to
        // prove the writer's failure stays with its record.
        var value = Encoding.UTF8.GetBytes(Sample(Channel.Consent).ToJsonString());
        var outcome = pipeline.Process(Channel.Consent, Source, value);
        var planted = outcome with { Consent = outcome.Consent! with { Source = null! } };

        var result = pipeline.Write(Channel.Consent, Source, null, value, planted, MaxValueBytes);

        Assert.Equal(IngestDisposition.Quarantined, result.Outcome.Disposition);
        var record = QuarantineOf(result);
        Assert.Equal(ReasonCodes.ProcessingError, record.Reasons[0].Code);
        Assert.StartsWith("its canonical event could not be written", record.Reasons[0].Detail, StringComparison.Ordinal);
        Assert.NotNull(record.Record);
        Assert.DoesNotContain(result.Outputs, o => o.Kind != "quarantine");
    }

    [Fact]
    public void Handle_JudgingThrows_IsQuarantinedAsProcessingError()
    {
        var failing = new IngestPipeline(Pseudonymizer(), Microsoft.Extensions.Options.Options.Create(new IngestOptions()), new FailingOnceTimeProvider(Now));

        var result = failing.Handle(Channel.Store, Source, null, Encoding.UTF8.GetBytes(Sample(Channel.Store).ToJsonString()), MaxValueBytes);

        Assert.Equal(IngestDisposition.Quarantined, result.Outcome.Disposition);
        Assert.Equal(ReasonCodes.ProcessingError, QuarantineOf(result).Reasons[0].Code);
    }

    [Fact]
    public void Handle_CanonicalEventLargerThanTheProducerTakes_IsOversizedAndTheQuarantineRecordFits()
    {
        // 1000 lines with a different 256-character non-ASCII category each: a valid record under 1 MiB whose canonical
        // event escapes every character to six bytes.
        var items = new JsonArray();
        for (var i = 0; i < StoreReader.MaxItems; i++)
        {
            items.Add(new JsonObject { ["sku"] = $"S{i}", ["category"] = $"{i:D4}" + new string('é', FieldLengths.Category - 4), ["quantity"] = 1, ["unit_price"] = 1 });
        }

        var sample = Sample(Channel.Store, s =>
        {
            s["items"] = items;
            s["total"] = StoreReader.MaxItems;
        });
        var value = Utf8Unescaped(sample);
        Assert.True(value.Length < new IngestOptions().MaxRecordBytes);

        var result = pipeline.Handle(Channel.Store, Source, Encoding.UTF8.GetBytes("jane.doe@example.com"), value, MaxValueBytes);

        Assert.Equal(IngestDisposition.Quarantined, result.Outcome.Disposition);
        var output = Assert.Single(result.Outputs);
        Assert.Equal("quarantine", output.Kind);
        Assert.True(output.Value.Length <= MaxValueBytes);
        var record = QuarantineOf(result);
        Assert.Equal(ReasonCodes.OversizedRecord, record.Reasons[0].Code);
        Assert.Equal("pos-1", record.EventId);
        Assert.Equal("pos-1", Encoding.UTF8.GetString(output.Key!));
    }

    [Fact]
    public void Handle_QuarantineRecordTooLarge_DropsTheMaskedCopyAndStillFits()
    {
        var items = new JsonArray();
        for (var i = 0; i < 50; i++)
        {
            items.Add(new JsonObject { ["sku"] = $"S{i}", ["category"] = $"{i:D2}" + new string('é', FieldLengths.Category - 2), ["quantity"] = 1, ["unit_price"] = 1 });
        }

        var sample = Sample(Channel.Store, s =>
        {
            s["items"] = items;
            s["total"] = 50;
        });
        const int limit = 4000;

        var result = pipeline.Handle(Channel.Store, Source, null, Utf8Unescaped(sample), limit);

        var output = Assert.Single(result.Outputs);
        Assert.True(output.Value.Length <= limit, $"{output.Value.Length} bytes");
        var record = QuarantineOf(result);
        Assert.Equal(ReasonCodes.OversizedRecord, record.Reasons[0].Code);
        Assert.Null(record.Record);
    }

    [Theory]
    [InlineData("jane.doe@example.com")]
    [InlineData("+1 555 010 4477")]
    public void Handle_InputKey_IsNeverTheQuarantineKey(string inputKey)
    {
        var key = Encoding.UTF8.GetBytes(inputKey);

        // No event id to key by: the key is a keyed digest of the input key.
        var malformed = pipeline.Handle(Channel.Store, Source, key, Encoding.UTF8.GetBytes("{not json"), MaxValueBytes);
        var malformedKey = Encoding.UTF8.GetString(Assert.Single(malformed.Outputs).Key!);
        Assert.Equal(KeyedDigest(key), malformedKey);

        // With an event id, the event id.
        var flagged = pipeline.Handle(Channel.Store, Source, key, Encoding.UTF8.GetBytes(Sample(Channel.Store, s => s["email"] = "broken@").ToJsonString()), MaxValueBytes);
        Assert.Equal("pos-1", Encoding.UTF8.GetString(Assert.Single(flagged.Outputs, o => o.Kind == "quarantine").Key!));

        foreach (var output in malformed.Outputs.Concat(flagged.Outputs))
        {
            Assert.DoesNotContain(inputKey, Encoding.UTF8.GetString(output.Key ?? []), StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(inputKey, DecodedText(output.Value), StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void Handle_NoInputKeyAndNoEventId_HasNoKey() =>
        Assert.Null(Assert.Single(pipeline.Handle(Channel.Store, Source, null, Encoding.UTF8.GetBytes("[]"), MaxValueBytes).Outputs).Key);

    [Fact]
    public void Process_RawDigest_IsKeyedNotAPlainSha256()
    {
        var value = Encoding.UTF8.GetBytes("jane.doe@example.com");

        var digest = pipeline.Process(Channel.Store, Source, value).Quarantine!.RawSha256;

        Assert.Equal(KeyedDigest(value), digest);
        Assert.NotEqual(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(value)), digest);
        Assert.Matches("^[0-9a-f]{64}$", digest);
    }

    public static TheoryData<Channel, string, int> StringFields => new()
    {
        { Channel.Clickstream, "anonymous_id", FieldLengths.AnonymousId },
        { Channel.Clickstream, "email", FieldLengths.Email },
        { Channel.Clickstream, "page_category", FieldLengths.PageCategory },
        { Channel.Clickstream, "url", FieldLengths.Url },
        { Channel.Clickstream, "ip", FieldLengths.Ip },
        { Channel.Clickstream, "user_agent", FieldLengths.UserAgent },
        { Channel.Clickstream, "currency", FieldLengths.Currency },
        { Channel.Store, "store_id", FieldLengths.StoreId },
        { Channel.Store, "loyalty_id", FieldLengths.LoyaltyId },
        { Channel.Store, "phone", FieldLengths.Phone },
        { Channel.Store, "customer_name", FieldLengths.CustomerName },
        { Channel.Store, "items[0].sku", FieldLengths.Sku },
        { Channel.Store, "items[0].category", FieldLengths.Category },
        { Channel.Callcenter, "agent_id", FieldLengths.AgentId },
        { Channel.Callcenter, "transcript", FieldLengths.FreeText },
        { Channel.Social, "handle", FieldLengths.Handle },
        { Channel.Social, "text", FieldLengths.FreeText },
        { Channel.Consent, "identifier", FieldLengths.ConsentIdentifier },
        { Channel.Consent, "event_id", FieldLengths.EventId },
    };

    [Theory]
    [MemberData(nameof(StringFields))]
    public void Process_StringAtItsMaximum_PassesAndOneMoreIsSchemaViolation(Channel channel, string field, int maxLength)
    {
        // Astral characters count once (JSON Schema counts code points), written raw and escaped: both paths of the reader.
        foreach (var unit in new[] { "x", "é", "😀" })
        {
            foreach (var escaped in new[] { false, true })
            {
                var atMax = Codes(channel, field, Fill(unit, maxLength), escaped);
                Assert.DoesNotContain(atMax, r => r.Field == field && r.Code == ReasonCodes.SchemaViolation);

                var past = Codes(channel, field, Fill(unit, maxLength + 1), escaped);
                var violation = Assert.Single(past, r => r.Field == field);
                Assert.Equal(ReasonCodes.SchemaViolation, violation.Code);
                Assert.DoesNotContain(unit + unit, violation.Detail, StringComparison.Ordinal);
            }
        }
    }

    private IReadOnlyList<QuarantineReason> Codes(Channel channel, string field, string text, bool escaped)
    {
        var sample = Sample(channel, s =>
        {
            if (field.StartsWith("items[0].", StringComparison.Ordinal))
            {
                s["items"]![0]![field["items[0].".Length..]] = text;
            }
            else
            {
                s[field] = text;
            }
        });
        var value = escaped ? Encoding.UTF8.GetBytes(sample.ToJsonString()) : Utf8Unescaped(sample);

        // Free text at its maximum, escaped, is larger than the default input limit: that limit is not under test here.
        return Pipeline(new IngestOptions { MaxRecordBytes = 4 * 1024 * 1024 }).Process(channel, Source, value).Quarantine?.Reasons ?? [];
    }

    private static string Fill(string unit, int codePoints) => string.Concat(Enumerable.Repeat(unit, codePoints));

    private IngestResult Handle(JsonObject sample) =>
        pipeline.Handle(Channel.Store, Source, null, Encoding.UTF8.GetBytes(sample.ToJsonString()), MaxValueBytes);

    private static JsonArray Items(params (string Sku, string Category, long Quantity, double UnitPrice)[] lines) =>
        new(lines.Select(l => (JsonNode)new JsonObject
        {
            ["sku"] = l.Sku, ["category"] = l.Category, ["quantity"] = l.Quantity, ["unit_price"] = l.UnitPrice,
        }).ToArray());

    /// <summary>The JSON with non-ASCII text as raw UTF-8, as most producers write it.</summary>
    private static byte[] Utf8Unescaped(JsonNode node) =>
        Encoding.UTF8.GetBytes(node.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));

    /// <summary>Throws on its first reading, as any defect in judging a record would.</summary>
    private sealed class FailingOnceTimeProvider(DateTimeOffset now) : TimeProvider
    {
        private int calls;

        public override DateTimeOffset GetUtcNow() =>
            Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("a defect") : now;
    }
}
