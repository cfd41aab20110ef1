using System.Text;
using System.Text.Json;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Quarantine;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Quarantine;
using static Streams.UnitTests.Ingest.IngestTestKit;

namespace Streams.UnitTests.Ingest;

/// <summary>What the profiles worker and the stewards receive: derived attributes and the JSON shapes.</summary>
public sealed class CanonicalOutputTests
{
    [Fact]
    public void Process_Clickstream_DerivesAttributesAndPseudonymizesIdentifiers()
    {
        var e = Process(Channel.Clickstream, Sample(Channel.Clickstream)).Event!;

        Assert.Equal(Channel.Clickstream, e.Channel);
        Assert.Equal("clk-1", e.EventId);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 14, 3, 11, 250, TimeSpan.Zero), e.OccurredAt);
        Assert.Equal(
            [new CanonicalIdentifier(IdentifierType.Device, "k1:591411f19ea43ad2e64a9e1c3d5054db"),
             new CanonicalIdentifier(IdentifierType.Email, "k1:39b1afb632528e3dbf5a96cf7207fb42")],
            e.Identifiers);
        Assert.Equal(new ClickstreamAttributes("purchase", "shoes", 1200, 59.9, "EUR", "mobile"), e.Clickstream);
        Assert.Empty(e.Flags);
        Assert.Equal(Source, e.Source);
        Assert.Null(e.Store);
    }

    [Theory]
    [InlineData("https://shop.example.com/Shoes/running?q=x", "shoes")]
    [InlineData("/outlet", "outlet")]
    [InlineData("https://shop.example.com/", "home")]
    [InlineData("https://shop.example.com", "home")]
    [InlineData("https://shop.example.com?email=jane@example.com", "home")]
    [InlineData("https://shop.example.com/12345/item", null)]
    [InlineData("https://shop.example.com/jane.doe@example.com/orders", null)]
    [InlineData("https://shop.example.com/caf%C3%A9", null)]
    public void Process_ClickstreamWithoutPageCategory_UsesFirstPathSegment(string url, string? category)
    {
        var e = Process(Channel.Clickstream, Sample(Channel.Clickstream, s =>
        {
            s.Remove("page_category");
            s["url"] = url;
        })).Event!;

        Assert.Equal(category, e.Clickstream!.PageCategory);
    }

    [Theory]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36", "desktop")]
    [InlineData("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15", "desktop")]
    [InlineData("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148 Safari/604.1", "mobile")]
    [InlineData("Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36", "mobile")]
    [InlineData("Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 Chrome/131.0 Safari/537.36", "tablet")]
    [InlineData("Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", "tablet")]
    [InlineData("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot")]
    [InlineData("curl/8.5.0", "bot")]
    [InlineData("something else", "unknown")]
    public void Process_UserAgent_BecomesDeviceClass(string userAgent, string deviceClass) =>
        Assert.Equal(deviceClass, Process(Channel.Clickstream, Sample(Channel.Clickstream, s => s["user_agent"] = userAgent)).Event!.Clickstream!.DeviceClass);

    /// <summary>Short ASCII user agents are classified from the stack, the others from a string: both ways agree.</summary>
    [Theory]
    [InlineData(" ", "unknown")]
    [InlineData("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) \u00e9", "tablet")]
    [InlineData("Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile", "mobile")]
    public void Process_UserAgentShortLongOrEscaped_BecomesDeviceClass(string userAgent, string deviceClass)
    {
        foreach (var text in new[] { userAgent, userAgent + new string(' ', 400) })
        {
            Assert.Equal(deviceClass, Process(Channel.Clickstream, Sample(Channel.Clickstream, s => s["user_agent"] = text)).Event!.Clickstream!.DeviceClass);
        }
    }

    [Fact]
    public void Process_ClickstreamWithoutUserAgent_IsUnknownDevice() =>
        Assert.Equal("unknown", Process(Channel.Clickstream, Sample(Channel.Clickstream, s => s.Remove("user_agent"))).Event!.Clickstream!.DeviceClass);

    [Fact]
    public void Process_Store_AggregatesCategoriesAfterDiscount()
    {
        var e = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s["discount_pct"] = 10;
            s["total"] = 93.11;
            s["items"]!.AsArray().Add(new System.Text.Json.Nodes.JsonObject { ["sku"] = "SKU-3", ["category"] = " shoes ", ["quantity"] = 1, ["unit_price"] = 0 });
        })).Event!;

        Assert.Equal(
            [new CanonicalIdentifier(IdentifierType.Loyalty, "k1:51b2f34203d3278e6da457319f163790"),
             new CanonicalIdentifier(IdentifierType.Email, "k1:39b1afb632528e3dbf5a96cf7207fb42"),
             new CanonicalIdentifier(IdentifierType.Phone, "k1:4a7483cb8600ea29a8c682335d40fe4b")],
            e.Identifiers);
        var store = e.Store!;
        Assert.Equal(("berlin-0117", 93.11, "EUR", 10.0, 5L, "card"), (store.StoreId, store.Total, store.Currency, store.DiscountPct!.Value, store.ItemCount, store.Payment));
        Assert.Equal([new CategoryAmount("shoes", 2, 80.955), new CategoryAmount("accessories", 3, 12.15)], store.Categories);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 10, 42, 7, TimeSpan.Zero), e.OccurredAt);
    }

    [Fact]
    public void Process_Store_CategoryAmountsRoundedToFourDecimals()
    {
        var outcome = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s["discount_pct"] = 0;
            s["total"] = 3.7;
            s["items"] = new System.Text.Json.Nodes.JsonArray(
                new System.Text.Json.Nodes.JsonObject { ["sku"] = "SKU-1", ["category"] = "toys", ["quantity"] = 1, ["unit_price"] = 1.23456789 },
                new System.Text.Json.Nodes.JsonObject { ["sku"] = "SKU-2", ["category"] = "toys", ["quantity"] = 2, ["unit_price"] = 1.23456789 });
        }));

        Assert.Equal([new CategoryAmount("toys", 3, 3.7037)], outcome.Event!.Store!.Categories);
        Assert.Contains("\"categories\":[{\"category\":\"toys\",\"quantity\":3,\"amount\":3.7037}]", Encoding.UTF8.GetString(outcome.CanonicalValue!), StringComparison.Ordinal);
    }

    /// <summary>
    /// The event's identifiers are its valid ones, each with its pseudonym under the previous key during a rotation
    /// window, and its key on the canonical topic is the first of them.
    /// </summary>
    [Fact]
    public void Handle_RotationWindowAndAnInvalidEmail_KeyedByTheFirstValidIdentifier_EachWithItsPrevious()
    {
        var options = PseudonymizationOptions();
        options.Keys["k2"] = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";
        options.ActiveKeyId = "k2";
        options.PreviousKeyId = KeyId;
        options.PreviousNormalizationVersion = NormalizationRules.V1;
        var rotating = new IngestPipeline(
            new Pseudonymizer(Microsoft.Extensions.Options.Options.Create(options)),
            Microsoft.Extensions.Options.Options.Create(new IngestOptions()), new FixedTimeProvider(Now));

        var result = rotating.Handle(Channel.Store, Source, null,
            Encoding.UTF8.GetBytes(Sample(Channel.Store, s => s["email"] = "not an address").ToJsonString()), MaxValueBytes);

        Assert.Equal(IngestDisposition.Flagged, result.Outcome.Disposition);
        var identifiers = result.Outcome.Event!.Identifiers;
        Assert.Equal([IdentifierType.Loyalty, IdentifierType.Phone], identifiers.Select(i => i.Type));
        Assert.All(identifiers, i => Assert.StartsWith("k2:", i.Pseudonym, StringComparison.Ordinal));
        Assert.All(identifiers, i => Assert.StartsWith("k1:", i.Previous, StringComparison.Ordinal));
        Assert.Equal(identifiers[0].Pseudonym, Encoding.UTF8.GetString(Assert.Single(result.Outputs, o => o.Kind == "event").Key!));
    }

    /// <summary>
    /// A thread remembers the categories it has read by their bytes, in a table of fixed size: more distinct categories
    /// than it has room for, read again and again, must each still come out as their own.
    /// </summary>
    [Fact]
    public void Process_StoreWithManyDistinctCategories_EveryLineKeepsItsOwn()
    {
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 300; i++)
            {
                var category = round == 1 ? $" Cat-{i:d3}" : $"Cat-{i:d3}";
                var e = Process(Channel.Store, Sample(Channel.Store, s =>
                {
                    s["total"] = 3;
                    s["items"] = new System.Text.Json.Nodes.JsonArray(
                        new System.Text.Json.Nodes.JsonObject { ["sku"] = "SKU-1", ["category"] = category, ["quantity"] = 1, ["unit_price"] = 1 },
                        new System.Text.Json.Nodes.JsonObject { ["sku"] = "SKU-2", ["category"] = " Shoes ", ["quantity"] = 2, ["unit_price"] = 1 });
                })).Event!;

                Assert.Equal([new CategoryAmount($"cat-{i:d3}", 1, 1), new CategoryAmount("shoes", 2, 2)], e.Store!.Categories);
            }
        }
    }

    [Fact]
    public void Process_Callcenter_KeepsOnlyDerivedValues()
    {
        var e = Process(Channel.Callcenter, Sample(Channel.Callcenter)).Event!;

        Assert.Equal(new CallcenterAttributes("billing", 312, -0.4, true), e.Callcenter);
        Assert.Equal(
            [new CanonicalIdentifier(IdentifierType.Phone, "k1:dd4e489f48a960db4720fa8130f7006d"),
             new CanonicalIdentifier(IdentifierType.Email, "k1:39b1afb632528e3dbf5a96cf7207fb42")],
            e.Identifiers);
    }

    [Fact]
    public void Process_Social_UsesPlatformAndHandle()
    {
        var e = Process(Channel.Social, Sample(Channel.Social)).Event!;

        Assert.Equal(new SocialAttributes("twitter", "review", 0.8, 1200), e.Social);
        Assert.Equal(new CanonicalIdentifier(IdentifierType.Social, "k1:2c751985afcd86333608a59d1f1e21ad"), e.Identifiers[0]);
    }

    [Theory]
    [InlineData("email", "  Jane.Doe@Example.COM ", "opt_out", "k1:39b1afb632528e3dbf5a96cf7207fb42")]
    [InlineData("phone", "0044 20 7946 0958", "erase", "k1:85b775e8beb0726d2d10c2e183451788")]
    [InlineData("loyalty", " ab-12345 ", "opt_in", "k1:51b2f34203d3278e6da457319f163790")]
    [InlineData("device", "d3b07384-d9a0-4c9b-8f2e-1c1a5b6e7f80", "opt_out", "k1:591411f19ea43ad2e64a9e1c3d5054db")]
    [InlineData("social", "twitter:@JaneDoe", "erase", "k1:2c751985afcd86333608a59d1f1e21ad")]
    public void Process_Consent_BecomesCommandWithTheEventsPseudonym(string type, string identifier, string action, string pseudonym)
    {
        var outcome = Process(Channel.Consent, Sample(Channel.Consent, s =>
        {
            s["identifier_type"] = type;
            s["identifier"] = identifier;
            s["action"] = action;
        }));

        Assert.Null(outcome.Event);
        var command = outcome.Consent!;
        Assert.Equal(pseudonym, command.Pseudonym);
        var json = Encoding.UTF8.GetString(CanonicalJson.Serialize(command));
        Assert.Contains($"\"identifier_type\":\"{type}\"", json, StringComparison.Ordinal);
        Assert.Contains($"\"action\":\"{action}\"", json, StringComparison.Ordinal);
        Assert.Contains("\"occurred_at\":\"2026-11-28T16:45:00Z\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Serialize_CanonicalEvent_IsSnakeCaseWithoutNullsAndRoundTrips()
    {
        var e = Process(Channel.Social, Sample(Channel.Social, s => s.Remove("followers"))).Event!;

        var bytes = CanonicalJson.Serialize(e);
        using var json = JsonDocument.Parse(bytes);
        var root = json.RootElement;

        Assert.Equal("social", root.GetProperty("channel").GetString());
        Assert.Equal("soc-1", root.GetProperty("event_id").GetString());
        Assert.Equal("2026-11-28T10:00:00Z", root.GetProperty("occurred_at").GetString());
        Assert.Equal("social", root.GetProperty("identifiers")[0].GetProperty("type").GetString());
        Assert.Equal("k1:2c751985afcd86333608a59d1f1e21ad", root.GetProperty("identifiers")[0].GetProperty("pseudonym").GetString());
        Assert.Equal(3, root.GetProperty("source").EnumerateObject().Count());
        Assert.False(root.TryGetProperty("store", out _));
        Assert.False(root.GetProperty("social").TryGetProperty("followers", out _));

        var back = CanonicalJson.DeserializeCanonicalEvent(bytes)!;
        Assert.Equal(e.Social, back.Social);
        Assert.Equal(e.Identifiers, back.Identifiers);
        Assert.Equal(e.OccurredAt, back.OccurredAt);
    }

    [Fact]
    public void Serialize_QuarantineRecord_HasTheContractShape()
    {
        var outcome = Process(Channel.Store, Sample(Channel.Store, s => s["email"] = "nobody"));

        var bytes = QuarantineJson.Serialize(outcome.Quarantine!);
        using var json = JsonDocument.Parse(bytes);
        var root = json.RootElement;

        Assert.Equal(
            ["source", "event_id", "disposition", "reasons", "record", "raw_sha256", "raw_bytes", "quarantined_at"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("store", root.GetProperty("source").GetProperty("topic").GetString());
        Assert.Equal(3, root.GetProperty("source").GetProperty("partition").GetInt32());
        Assert.Equal(42, root.GetProperty("source").GetProperty("offset").GetInt64());
        Assert.Equal("flagged", root.GetProperty("disposition").GetString());
        var reason = root.GetProperty("reasons")[0];
        Assert.Equal(("invalid_email", "email"), (reason.GetProperty("code").GetString(), reason.GetProperty("field").GetString()));
        Assert.Equal(64, root.GetProperty("raw_sha256").GetString()!.Length);
        Assert.Equal("2026-11-28T18:00:00Z", root.GetProperty("quarantined_at").GetString());
        Assert.Equal("n***", root.GetProperty("record").GetProperty("email").GetString());
        Assert.False(root.GetProperty("record").TryGetProperty("customer_name", out _));
        var back = QuarantineJson.Deserialize(bytes)!;
        Assert.Equal(outcome.Quarantine!.Reasons, back.Reasons);
        Assert.Equal((outcome.Quarantine.RawSha256, outcome.Quarantine.QuarantinedAt), (back.RawSha256, back.QuarantinedAt));
    }

    [Fact]
    public void Serialize_MalformedRecord_WritesNullsExplicitly()
    {
        var outcome = Process(Channel.Store, "not json");

        using var json = JsonDocument.Parse(QuarantineJson.Serialize(outcome.Quarantine!));
        var root = json.RootElement;

        Assert.Equal(JsonValueKind.Null, root.GetProperty("event_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("record").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("reasons")[0].GetProperty("field").ValueKind);
        Assert.Equal("quarantined", root.GetProperty("disposition").GetString());
        Assert.Equal(8, root.GetProperty("raw_bytes").GetInt32());
    }

    [Fact]
    public void Mask_QuarantinedRecord_KeepsKnownFieldsAndDropsTheRest()
    {
        var outcome = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s["currency"] = "XYZ";
            s["payment"] = "cheque";
            s["unknown"] = 1;
        }));

        var record = outcome.Quarantine!.Record!.Value;

        Assert.Equal(QuarantineDisposition.Quarantined, outcome.Quarantine.Disposition);
        Assert.Equal(
            ["event_id", "occurred_at", "store_id", "loyalty_id", "email", "phone", "total", "currency", "discount_pct", "payment", "items"],
            record.EnumerateObject().Select(p => p.Name));
        Assert.Equal("XYZ", record.GetProperty("currency").GetString());
        Assert.Equal("***", record.GetProperty("payment").GetString());
        Assert.Equal("k1:4a7483cb8600ea29a8c682335d40fe4b", record.GetProperty("phone").GetString());
        Assert.Equal(89.95, record.GetProperty("items")[0].GetProperty("unit_price").GetDouble());
    }
}
