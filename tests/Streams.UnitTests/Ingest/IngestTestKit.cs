using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Quarantine;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;

namespace Streams.UnitTests.Ingest;

/// <summary>Shared set-up: the test key, a fixed clock, and clean sample events to spoil one field at a time.</summary>
internal static class IngestTestKit
{
    public const string KeyId = "k1";
    public const string KeyBase64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    public static readonly DateTimeOffset Now = new(2026, 11, 28, 18, 0, 0, TimeSpan.Zero);

    public static readonly SourcePosition Source = new("store", 3, 42);

    /// <summary>The worker's bound on one output value.</summary>
    public const int MaxValueBytes = Streams.Ingest.Worker.OutputProducer.MaxValueBytes;

    /// <summary>The rules the test key's pseudonymizer normalizes with: version 2 in region US.</summary>
    public static readonly NormalizationRules Rules = NormalizationRules.For(NormalizationRules.Latest, "US");

    public static PseudonymizationOptions PseudonymizationOptions(string defaultRegion = "US")
    {
        var options = new PseudonymizationOptions { ActiveKeyId = KeyId, DefaultRegion = defaultRegion };
        options.Keys[KeyId] = KeyBase64;
        return options;
    }

    public static Pseudonymizer Pseudonymizer() => new(Options.Create(PseudonymizationOptions()));

    public static IngestPipeline Pipeline(IngestOptions? options = null) =>
        new(Pseudonymizer(), Options.Create(options ?? new IngestOptions()), new FixedTimeProvider(Now));

    public static IngestOutcome Process(Channel channel, JsonNode value) => Process(channel, value.ToJsonString());

    public static IngestOutcome Process(Channel channel, string value) =>
        Pipeline().Process(channel, Source, Encoding.UTF8.GetBytes(value));

    public static IReadOnlyList<string> Codes(Channel channel, JsonNode value) => Process(channel, value).ReasonCodes;

    /// <summary>A clean event of the channel; <paramref name="change"/> spoils it.</summary>
    public static JsonObject Sample(Channel channel, Action<JsonObject>? change = null)
    {
        var sample = JsonNode.Parse(channel switch
        {
            Channel.Clickstream => """
                {"event_id": "clk-1", "occurred_at": "2026-11-28T14:03:11.250Z", "anonymous_id": "d3b07384-d9a0-4c9b-8f2e-1c1a5b6e7f80",
                 "email": "jane.doe@example.com", "event_type": "purchase", "page_category": "Shoes",
                 "url": "https://shop.example.com/shoes/running?q=secret", "dwell_ms": 1200, "revenue": 59.9, "currency": "EUR",
                 "ip": "203.0.113.42", "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148"}
                """,
            Channel.Store => """
                {"event_id": "pos-1", "occurred_at": "2026-11-28T11:42:07+01:00", "store_id": "berlin-0117", "loyalty_id": "ab-12345",
                 "email": "jane.doe@example.com", "phone": "(555) 010-4477", "customer_name": "Jane Doe",
                 "total": 103.45, "currency": "EUR", "discount_pct": 0, "payment": "card",
                 "items": [{"sku": "SKU-1", "category": "Shoes", "quantity": 1, "unit_price": 89.95},
                           {"sku": "SKU-2", "category": "accessories", "quantity": 3, "unit_price": 4.5}]}
                """,
            Channel.Callcenter => """
                {"event_id": "cc-1", "occurred_at": "2026-11-28T09:15:00Z", "phone": "+49 30 901820", "email": "jane.doe@example.com",
                 "customer_name": "Jane Doe", "reason": "billing", "duration_s": 312, "sentiment": -0.4, "resolved": true,
                 "agent_id": "agent-7", "transcript": "My card number is 4111 1111 1111 1111"}
                """,
            Channel.Social => """
                {"event_id": "soc-1", "occurred_at": "2026-11-28T10:00:00Z", "platform": "twitter", "handle": "@JaneDoe",
                 "email": "jane.doe@example.com", "interaction": "review", "sentiment": 0.8, "followers": 1200,
                 "text": "Loved the shoes, call me on 555 010 4477"}
                """,
            Channel.Consent => """
                {"event_id": "cns-1", "occurred_at": "2026-11-28T16:45:00Z", "identifier_type": "email",
                 "identifier": "  Jane.Doe@Example.COM ", "action": "opt_out"}
                """,
            _ => throw new ArgumentOutOfRangeException(nameof(channel)),
        })!.AsObject();
        change?.Invoke(sample);
        return sample;
    }

    /// <summary>
    /// Every string in the serialized output, decoded: the JSON writer escapes non-ASCII and '+', so a plain
    /// substring search in the bytes could miss a leak.
    /// </summary>
    public static string DecodedText(byte[] json)
    {
        var text = new StringBuilder(Encoding.UTF8.GetString(json));
        using var document = JsonDocument.Parse(json);
        Collect(document.RootElement, text);
        return text.ToString();

        static void Collect(JsonElement element, StringBuilder text)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        text.Append('\n').Append(property.Name);
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

    /// <summary>The quarantine value <see cref="IngestPipeline.Handle"/> would produce, read back.</summary>
    public static Streams.Contracts.Quarantine.QuarantineRecord QuarantineOf(IngestResult result) =>
        QuarantineJson.Deserialize(Assert.Single(result.Outputs, o => o.Kind == "quarantine").Value)!;

    /// <summary>
    /// <c>raw_sha256</c> as CONTRACT §4 defines it, computed here from the key rather than through the pipeline:
    /// HMAC-SHA256 under HMAC-SHA256(key, "streams raw-digest v1").
    /// </summary>
    public static string KeyedDigest(byte[] raw)
    {
        var digestKey = System.Security.Cryptography.HMACSHA256.HashData(Convert.FromBase64String(KeyBase64), "streams raw-digest v1"u8);
        return Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(digestKey, raw));
    }

    /// <summary>Everything the outcome would write to any topic.</summary>
    public static string AllOutput(IngestOutcome outcome)
    {
        var parts = new List<byte[]>();
        if (outcome.Event is not null)
        {
            parts.Add(CanonicalJson.Serialize(outcome.Event));
        }

        if (outcome.Consent is not null)
        {
            parts.Add(CanonicalJson.Serialize(outcome.Consent));
        }

        if (outcome.Quarantine is not null)
        {
            parts.Add(QuarantineJson.Serialize(outcome.Quarantine));
        }

        return string.Join("\n", parts.Select(DecodedText));
    }
}

internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
