using System.Text.Json.Nodes;
using Streams.Contracts;
using Streams.Contracts.Quarantine;
using Streams.Ingest;
using Streams.Ingest.Quarantine;
using Streams.Ingest.Validation;
using static Streams.UnitTests.Ingest.IngestTestKit;

namespace Streams.UnitTests.Ingest;

/// <summary>Every reason code ingest decides, alone and combined, with the disposition it leads to.</summary>
public sealed class ReasonCodeTests
{
    public static TheoryData<Channel> Channels => new() { Channel.Clickstream, Channel.Store, Channel.Callcenter, Channel.Social, Channel.Consent };

    [Theory]
    [MemberData(nameof(Channels))]
    public void Process_CleanSample_IsAccepted(Channel channel)
    {
        var outcome = Process(channel, Sample(channel));

        Assert.Empty(outcome.ReasonCodes);
        Assert.Equal(IngestDisposition.Accepted, outcome.Disposition);
        Assert.Null(outcome.Quarantine);
        Assert.True(outcome.Event is not null ^ outcome.Consent is not null);
    }

    [Theory]
    [MemberData(nameof(Channels))]
    public void Process_OptionalFieldsAsNull_CountAsAbsent(Channel channel)
    {
        string[] optional = ["email", "page_category", "url", "dwell_ms", "revenue", "currency", "ip", "user_agent", "customer_name",
            "discount_pct", "payment", "transcript", "sentiment", "followers", "text", "loyalty_id", "phone"];
        string[] required = channel switch
        {
            Channel.Callcenter => ["phone", "sentiment"],
            Channel.Store => ["currency"],
            _ => [],
        };
        var sample = Sample(channel, s =>
        {
            foreach (var name in optional.Where(n => s.ContainsKey(n) && !required.Contains(n)))
            {
                s[name] = null;
            }
        });

        var outcome = Process(channel, sample);

        Assert.Empty(outcome.ReasonCodes);
        Assert.Equal(channel == Channel.Store ? IngestDisposition.AnonymousSale : IngestDisposition.Accepted, outcome.Disposition);
    }

    [Theory]
    [InlineData(Channel.Clickstream, "event_id")]
    [InlineData(Channel.Clickstream, "occurred_at")]
    [InlineData(Channel.Clickstream, "anonymous_id")]
    [InlineData(Channel.Clickstream, "event_type")]
    [InlineData(Channel.Store, "store_id")]
    [InlineData(Channel.Store, "total")]
    [InlineData(Channel.Store, "currency")]
    [InlineData(Channel.Store, "items")]
    [InlineData(Channel.Callcenter, "phone")]
    [InlineData(Channel.Callcenter, "reason")]
    [InlineData(Channel.Callcenter, "duration_s")]
    [InlineData(Channel.Callcenter, "sentiment")]
    [InlineData(Channel.Callcenter, "resolved")]
    [InlineData(Channel.Callcenter, "agent_id")]
    [InlineData(Channel.Social, "platform")]
    [InlineData(Channel.Social, "handle")]
    [InlineData(Channel.Social, "interaction")]
    [InlineData(Channel.Consent, "identifier_type")]
    [InlineData(Channel.Consent, "identifier")]
    [InlineData(Channel.Consent, "action")]
    public void Process_RequiredFieldMissingOrNull_IsSchemaViolation(Channel channel, string field)
    {
        foreach (var sample in new[] { Sample(channel, s => s.Remove(field)), Sample(channel, s => s[field] = null) })
        {
            var outcome = Process(channel, sample);

            Assert.Equal([ReasonCodes.SchemaViolation], outcome.ReasonCodes);
            Assert.Equal(IngestDisposition.Quarantined, outcome.Disposition);
            Assert.Contains(outcome.Quarantine!.Reasons, r => r.Field == field);
            Assert.Null(outcome.Event);
            Assert.Null(outcome.Consent);
        }
    }

    public static TheoryData<Channel, string, string> WrongTypes => new()
    {
        { Channel.Clickstream, "dwell_ms", "\"1200\"" },
        { Channel.Clickstream, "revenue", "\"59.90\"" },
        { Channel.Clickstream, "event_type", "1" },
        { Channel.Clickstream, "anonymous_id", "12345" },
        { Channel.Clickstream, "email", "true" },
        { Channel.Clickstream, "url", "{}" },
        { Channel.Clickstream, "ip", "[203, 0, 113, 42]" },
        { Channel.Clickstream, "user_agent", "7" },
        { Channel.Clickstream, "currency", "978" },
        { Channel.Clickstream, "event_id", "17" },
        { Channel.Clickstream, "occurred_at", "1764338591" },
        { Channel.Store, "total", "\"103.45\"" },
        { Channel.Store, "items", "{}" },
        { Channel.Store, "items", "[]" },
        { Channel.Store, "items", "[42]" },
        { Channel.Store, "payment", "\"bitcoin\"" },
        { Channel.Store, "loyalty_id", "12345" },
        { Channel.Store, "loyalty_id", "\"   \"" },
        { Channel.Store, "customer_name", "{\"first\": \"Jane\"}" },
        { Channel.Store, "store_id", "117" },
        { Channel.Callcenter, "resolved", "\"true\"" },
        { Channel.Callcenter, "duration_s", "312.5" },
        { Channel.Callcenter, "phone", "5550104477" },
        { Channel.Callcenter, "reason", "\"BILLING\"" },
        { Channel.Callcenter, "transcript", "[]" },
        { Channel.Social, "platform", "\"Twitter\"" },
        { Channel.Social, "followers", "12.5" },
        { Channel.Social, "followers", "\"1200\"" },
        { Channel.Social, "handle", "\" @ \"" },
        { Channel.Social, "text", "false" },
        { Channel.Consent, "action", "\"delete\"" },
        { Channel.Consent, "identifier_type", "\"cookie\"" },
        { Channel.Consent, "identifier", "42" },
    };

    [Theory]
    [MemberData(nameof(WrongTypes))]
    public void Process_WrongTypeOrValue_IsSchemaViolation(Channel channel, string field, string json)
    {
        var outcome = Process(channel, Sample(channel, s => s[field] = JsonNode.Parse(json)));

        Assert.Equal([ReasonCodes.SchemaViolation], outcome.ReasonCodes);
        Assert.Equal(IngestDisposition.Quarantined, outcome.Disposition);
    }

    [Theory]
    [InlineData("")]
    [InlineData("2026-11-28")]
    [InlineData("2026-11-28T14:03:11")]
    [InlineData("2026-11-28 14:03:11Z")]
    [InlineData("2026-11-28t14:03:11z")]
    [InlineData("2026-02-30T14:03:11Z")]
    [InlineData("2026-13-01T14:03:11Z")]
    [InlineData("2026-11-28T24:00:00Z")]
    [InlineData("2026-11-28T14:03:11.Z")]
    [InlineData("2026-11-28T14:03:11+0100")]
    [InlineData("2026-11-28T14:03:11+24:00")]
    [InlineData("Sat, 28 Nov 2026 14:03:11 GMT")]
    [InlineData("2026-11-28T14:03:11Z\n")]
    public void Process_OccurredAtNotRfc3339_IsSchemaViolation(string occurredAt) =>
        Assert.Equal([ReasonCodes.SchemaViolation], Codes(Channel.Social, Sample(Channel.Social, s => s["occurred_at"] = occurredAt)));

    [Theory]
    [InlineData("2026-11-28T14:03:11Z")]
    [InlineData("2026-11-28T14:03:11.123456789+05:30")]
    [InlineData("2016-12-31T23:59:60Z")]
    [InlineData("2024-02-29T00:00:00-23:59")]
    [InlineData("0001-01-01T00:00:00Z")]
    public void Process_OccurredAtRfc3339_IsAccepted(string occurredAt) =>
        Assert.Empty(Codes(Channel.Social, Sample(Channel.Social, s => s["occurred_at"] = occurredAt)));

    [Theory]
    [InlineData(1, true)]
    [InlineData(128, true)]
    [InlineData(0, false)]
    [InlineData(129, false)]
    public void Process_EventIdLength_Is1To128(int length, bool valid) =>
        Assert.Equal(valid, Codes(Channel.Clickstream, Sample(Channel.Clickstream, s => s["event_id"] = new string('e', length))).Count == 0);

    [Fact]
    public void Process_EventIdLength_CountsCodePoints() =>
        Assert.Empty(Codes(Channel.Clickstream, Sample(Channel.Clickstream, s => s["event_id"] = string.Concat(Enumerable.Repeat("😀", 128)))));

    [Fact]
    public void Process_RevenueWithoutCurrency_IsSchemaViolationOnCurrency()
    {
        var outcome = Process(Channel.Clickstream, Sample(Channel.Clickstream, s => s.Remove("currency")));

        Assert.Equal([ReasonCodes.SchemaViolation], outcome.ReasonCodes);
        Assert.Equal("currency", Assert.Single(outcome.Quarantine!.Reasons).Field);
    }

    [Fact]
    public void Process_CurrencyWithoutRevenue_IsFine() =>
        Assert.Empty(Codes(Channel.Clickstream, Sample(Channel.Clickstream, s => s.Remove("revenue"))));

    [Fact]
    public void Process_IntegralFloat_CountsAsInteger()
    {
        var outcome = Process(Channel.Clickstream, Sample(Channel.Clickstream, s => s["dwell_ms"] = JsonNode.Parse("1200.0")));

        Assert.Empty(outcome.ReasonCodes);
        Assert.Equal(1200, outcome.Event!.Clickstream!.DwellMs);
    }

    public static TheoryData<Channel, string, string> OutOfRange => new()
    {
        { Channel.Clickstream, "dwell_ms", "-1" },
        { Channel.Clickstream, "dwell_ms", "9007199254740992" },
        { Channel.Clickstream, "revenue", "-0.01" },
        { Channel.Clickstream, "revenue", "1e400" },
        { Channel.Store, "total", "-1" },
        { Channel.Store, "discount_pct", "-5" },
        { Channel.Store, "discount_pct", "100.5" },
        { Channel.Callcenter, "duration_s", "-3" },
        { Channel.Callcenter, "sentiment", "1.01" },
        { Channel.Callcenter, "sentiment", "-1.5" },
        { Channel.Social, "sentiment", "2" },
        { Channel.Social, "followers", "-1" },
    };

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void Process_NumberOutsideItsRange_IsOutOfRange(Channel channel, string field, string json)
    {
        var outcome = Process(channel, Sample(channel, s => s[field] = JsonNode.Parse(json)));

        // A discount outside 0–100 also leaves the total unverifiable, so nothing else may be reported.
        Assert.Equal([ReasonCodes.OutOfRange], outcome.ReasonCodes);
        Assert.Equal(IngestDisposition.Quarantined, outcome.Disposition);
        Assert.Equal(field, outcome.Quarantine!.Reasons[0].Field);
    }

    [Theory]
    [InlineData("quantity", "0", ReasonCodes.OutOfRange)]
    [InlineData("quantity", "-2", ReasonCodes.OutOfRange)]
    [InlineData("quantity", "1.5", ReasonCodes.SchemaViolation)]
    [InlineData("quantity", "\"1\"", ReasonCodes.SchemaViolation)]
    [InlineData("unit_price", "-89.95", ReasonCodes.OutOfRange)]
    [InlineData("sku", "null", ReasonCodes.SchemaViolation)]
    [InlineData("category", "7", ReasonCodes.SchemaViolation)]
    public void Process_BadItemField_IsReportedWithItsPath(string field, string json, string code)
    {
        var outcome = Process(Channel.Store, Sample(Channel.Store, s => s["items"]![1]![field] = JsonNode.Parse(json)));

        Assert.Equal([code], outcome.ReasonCodes);
        Assert.Equal($"items[1].{field}", Assert.Single(outcome.Quarantine!.Reasons).Field);
    }

    [Theory]
    [InlineData("XYZ")]
    [InlineData("usd")]
    [InlineData("HRK")]
    [InlineData("XXX")]
    [InlineData("")]
    public void Process_UnknownCurrency_IsQuarantined(string currency)
    {
        var outcome = Process(Channel.Store, Sample(Channel.Store, s => s["currency"] = currency));

        Assert.Equal([ReasonCodes.UnknownCurrency], outcome.ReasonCodes);
        Assert.Equal(IngestDisposition.Quarantined, outcome.Disposition);
    }

    [Fact]
    public void Process_FutureTimestamp_IsQuarantined()
    {
        var outcome = Process(Channel.Callcenter, Sample(Channel.Callcenter, s => s["occurred_at"] = "2026-11-28T18:05:01Z"));

        Assert.Equal([ReasonCodes.FutureTimestamp], outcome.ReasonCodes);
        Assert.Equal(IngestDisposition.Quarantined, outcome.Disposition);
        Assert.Equal("cc-1", outcome.Quarantine!.EventId);
    }

    [Fact]
    public void Process_TimestampWithinClockSkew_IsAccepted() =>
        Assert.Empty(Codes(Channel.Callcenter, Sample(Channel.Callcenter, s => s["occurred_at"] = "2026-11-28T19:04:59+01:00")));

    [Fact]
    public void Process_ClockSkewOption_IsHonoured()
    {
        var pipeline = Pipeline(new IngestOptions { MaxClockSkew = TimeSpan.Zero });
        var value = System.Text.Encoding.UTF8.GetBytes(Sample(Channel.Social, s => s["occurred_at"] = "2026-11-28T18:00:01Z").ToJsonString());

        Assert.Equal([ReasonCodes.FutureTimestamp], pipeline.ReasonCodesFor(Channel.Social, value));
    }

    [Fact]
    public void Process_InvalidEmailWithAnotherIdentifier_IsFlaggedAndEmailDropped()
    {
        var outcome = Process(Channel.Clickstream, Sample(Channel.Clickstream, s => s["email"] = "jane.doe(at)example.com"));

        Assert.Equal([ReasonCodes.InvalidEmail], outcome.ReasonCodes);
        Assert.Equal(IngestDisposition.Flagged, outcome.Disposition);
        Assert.Equal(QuarantineDisposition.Flagged, outcome.Quarantine!.Disposition);
        var identifier = Assert.Single(outcome.Event!.Identifiers);
        Assert.Equal("k1:591411f19ea43ad2e64a9e1c3d5054db", identifier.Pseudonym);
        Assert.Equal([ReasonCodes.InvalidEmail], outcome.Event.Flags);
    }

    [Fact]
    public void Process_InvalidPhoneWithEmail_IsFlagged()
    {
        var outcome = Process(Channel.Callcenter, Sample(Channel.Callcenter, s => s["phone"] = "12-34"));

        Assert.Equal([ReasonCodes.InvalidPhone], outcome.ReasonCodes);
        Assert.Equal(IngestDisposition.Flagged, outcome.Disposition);
        Assert.Equal("k1:39b1afb632528e3dbf5a96cf7207fb42", Assert.Single(outcome.Event!.Identifiers).Pseudonym);
    }

    [Fact]
    public void Process_InvalidPhoneAsOnlyIdentifier_IsQuarantined()
    {
        var outcome = Process(Channel.Callcenter, Sample(Channel.Callcenter, s =>
        {
            s["phone"] = "12-34";
            s.Remove("email");
        }));

        Assert.Equal([ReasonCodes.InvalidPhone], outcome.ReasonCodes);
        Assert.Equal(IngestDisposition.Quarantined, outcome.Disposition);
        Assert.Equal(QuarantineDisposition.Quarantined, outcome.Quarantine!.Disposition);
        Assert.Null(outcome.Event);
    }

    [Fact]
    public void Process_StoreWithInvalidEmailAndPhoneOnly_IsQuarantined()
    {
        var outcome = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s.Remove("loyalty_id");
            s["email"] = "nobody";
            s["phone"] = "1";
        }));

        Assert.Equal([ReasonCodes.InvalidEmail, ReasonCodes.InvalidPhone], outcome.ReasonCodes);
        Assert.Equal(IngestDisposition.Quarantined, outcome.Disposition);
    }

    [Theory]
    [InlineData(Channel.Consent, "email", "nobody", ReasonCodes.InvalidEmail)]
    [InlineData(Channel.Consent, "phone", "123", ReasonCodes.InvalidPhone)]
    [InlineData(Channel.Consent, "social", "JaneDoe", ReasonCodes.SchemaViolation)]
    [InlineData(Channel.Consent, "social", "myspace:JaneDoe", ReasonCodes.SchemaViolation)]
    [InlineData(Channel.Consent, "device", "  ", ReasonCodes.SchemaViolation)]
    public void Process_InvalidConsentIdentifier_IsQuarantined(Channel channel, string type, string identifier, string code)
    {
        var outcome = Process(channel, Sample(channel, s =>
        {
            s["identifier_type"] = type;
            s["identifier"] = identifier;
        }));

        Assert.Equal([code], outcome.ReasonCodes);
        Assert.Equal(IngestDisposition.Quarantined, outcome.Disposition);
        Assert.Null(outcome.Consent);
    }

    [Fact]
    public void Process_StoreWithoutIdentifiers_IsAnonymousSale()
    {
        var outcome = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s.Remove("loyalty_id");
            s.Remove("email");
            s["phone"] = null;
        }));

        Assert.Equal(IngestDisposition.AnonymousSale, outcome.Disposition);
        Assert.Empty(outcome.ReasonCodes);
        Assert.Null(outcome.Event);
        Assert.Null(outcome.Quarantine);
        Assert.Equal("pos-1", outcome.EventId);
    }

    [Fact]
    public void Process_AnonymousSaleWithTotalMismatch_WritesAFlaggedRecordButNoEvent()
    {
        var outcome = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s.Remove("loyalty_id");
            s.Remove("email");
            s.Remove("phone");
            s["total"] = 10;
        }));

        Assert.Equal(IngestDisposition.AnonymousSale, outcome.Disposition);
        Assert.Equal([ReasonCodes.TotalMismatch], outcome.ReasonCodes);
        Assert.Null(outcome.Event);
        Assert.Equal(QuarantineDisposition.Flagged, outcome.Quarantine!.Disposition);
    }

    [Theory]
    [InlineData(103.45, 0, false)]
    [InlineData(104.48, 0, false)] // 1.03 off: within 1 %
    [InlineData(104.50, 0, true)] // 1.05 off: more than 1 %
    [InlineData(93.105, 10, false)] // the discount applies to every line
    [InlineData(103.45, 10, true)]
    public void Process_StoreTotal_IsComparedWithDiscountedItems(double total, double discount, bool mismatch)
    {
        var outcome = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s["total"] = total;
            s["discount_pct"] = discount;
        }));

        Assert.Equal(mismatch ? [ReasonCodes.TotalMismatch] : [], outcome.ReasonCodes);
        Assert.Equal(mismatch ? IngestDisposition.Flagged : IngestDisposition.Accepted, outcome.Disposition);
        Assert.NotNull(outcome.Event);
    }

    [Theory]
    [InlineData(0.50, 0.50, false)]
    [InlineData(0.51, 0.50, false)] // 0.01 off: within the absolute tolerance
    [InlineData(0.52, 0.50, true)]
    public void Process_SmallStoreTotal_UsesAbsoluteTolerance(double total, double price, bool mismatch)
    {
        var outcome = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s["total"] = total;
            s["items"] = new JsonArray(new JsonObject { ["sku"] = "A", ["category"] = "c", ["quantity"] = 1, ["unit_price"] = price });
        }));

        Assert.Equal(mismatch, outcome.ReasonCodes.Contains(ReasonCodes.TotalMismatch));
    }

    [Fact]
    public void Process_ManyProblems_ListsEveryCodeOnce()
    {
        var outcome = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s["occurred_at"] = "2099-01-01T00:00:00Z";
            s["email"] = "nobody";
            s["phone"] = "12";
            s["currency"] = "ZZZ";
            s["total"] = 1;
            s["discount_pct"] = 120;
            s["payment"] = "iou";
            s["items"]![0]!["quantity"] = 0;
            s["items"]![1]!["quantity"] = 0;
        }));

        Assert.Equal(
            new[] { ReasonCodes.FutureTimestamp, ReasonCodes.InvalidEmail, ReasonCodes.InvalidPhone, ReasonCodes.UnknownCurrency,
                ReasonCodes.OutOfRange, ReasonCodes.SchemaViolation }.Order(),
            outcome.ReasonCodes.Order());
        Assert.Equal(IngestDisposition.Quarantined, outcome.Disposition);
        Assert.Equal(8, outcome.Quarantine!.Reasons.Count);
    }

    [Fact]
    public void Process_FlagsOnly_AreAllListedOnAFlaggedEvent()
    {
        var outcome = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s["email"] = "nobody";
            s["phone"] = "12";
            s["total"] = 1;
        }));

        Assert.Equal([ReasonCodes.InvalidEmail, ReasonCodes.InvalidPhone, ReasonCodes.TotalMismatch], outcome.ReasonCodes);
        Assert.Equal(IngestDisposition.Flagged, outcome.Disposition);
        Assert.Equal("k1:51b2f34203d3278e6da457319f163790", Assert.Single(outcome.Event!.Identifiers).Pseudonym);
        Assert.Equal(outcome.ReasonCodes, outcome.Event.Flags);
    }

    [Fact]
    public void Process_InvalidEmailWithSchemaViolation_ListsBoth()
    {
        var codes = Codes(Channel.Social, Sample(Channel.Social, s =>
        {
            s["email"] = "nobody";
            s["interaction"] = "poke";
        }));

        Assert.Equal([ReasonCodes.InvalidEmail, ReasonCodes.SchemaViolation], codes);
    }

    [Fact]
    public void Process_ThousandBadItems_CapsReasonsButKeepsEveryCode()
    {
        var items = new JsonArray();
        for (var i = 0; i < 1000; i++)
        {
            items.Add(new JsonObject { ["sku"] = "A", ["category"] = "c", ["quantity"] = 0, ["unit_price"] = 1 });
        }

        var outcome = Process(Channel.Store, Sample(Channel.Store, s =>
        {
            s["items"] = items;
            s["currency"] = "ZZZ";
        }));

        Assert.Equal([ReasonCodes.UnknownCurrency, ReasonCodes.OutOfRange], outcome.ReasonCodes);
        Assert.Equal(32, outcome.Quarantine!.Reasons.Count);
    }

    [Fact]
    public void HandleDuplicate_CleanRecord_IsQuarantinedWithMaskedCopy()
    {
        var value = System.Text.Encoding.UTF8.GetBytes(Sample(Channel.Clickstream).ToJsonString());

        var record = QuarantineOf(Pipeline().HandleDuplicate(Channel.Clickstream, Source, null, value, MaxValueBytes));

        Assert.Equal(QuarantineDisposition.Quarantined, record.Disposition);
        Assert.Equal(ReasonCodes.DuplicateEvent, Assert.Single(record.Reasons).Code);
        Assert.Equal("clk-1", record.EventId);
        Assert.Equal("k1:39b1afb632528e3dbf5a96cf7207fb42", record.Record!.Value.GetProperty("email").GetString());
    }

    [Fact]
    public void HandleDuplicate_FlaggedRecord_KeepsItsFlags()
    {
        var value = System.Text.Encoding.UTF8.GetBytes(Sample(Channel.Clickstream, s => s["email"] = "nobody").ToJsonString());

        var record = QuarantineOf(Pipeline().HandleDuplicate(Channel.Clickstream, Source, null, value, MaxValueBytes));

        Assert.Equal([ReasonCodes.DuplicateEvent, ReasonCodes.InvalidEmail], record.Reasons.Select(r => r.Code));
    }

    [Fact]
    public void ReasonCodes_SchemaVerdict_IsMalformedSchemaOrRange()
    {
        Assert.True(ReasonCodes.IsSchemaInvalid([ReasonCodes.InvalidEmail, ReasonCodes.OutOfRange]));
        Assert.False(ReasonCodes.IsSchemaInvalid([ReasonCodes.InvalidEmail, ReasonCodes.UnknownCurrency, ReasonCodes.FutureTimestamp,
            ReasonCodes.TotalMismatch, ReasonCodes.InvalidPhone]));
    }
}
