using System.Text.Json.Nodes;
using Streams.Contracts;
using Streams.Contracts.Identifiers;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Quarantine;
using static Streams.UnitTests.Ingest.IngestTestKit;

namespace Streams.UnitTests.Ingest;

/// <summary>Raw personal values never reach any output: not the canonical event, not the quarantine record.</summary>
public sealed class PrivacyTests
{
    private const string Email = "Marker.Person+x@Privacy-Test.example";
    private const string Phone = "+44 20 7946 0123";
    private const string Name = "Wilhelmina Quarterstaff";
    private const string Ip = "198.51.100.77";
    private const string UserAgent = "Mozilla/5.0 (X11; Linux x86_64) PrivacyMarkerAgent/9.9";
    private const string QueryMarker = "querysecretmarker";
    private const string Transcript = "transcript-marker: my account is 998877";
    private const string Text = "free-text-marker: ping me";
    private const string Handle = "@Marker_Handle";
    private const string Loyalty = "LOYAL-MARKER-4242";
    private const string Device = "device-marker-5c1f";

    private static readonly string[] Markers =
    [
        Email, Email.Trim().ToLowerInvariant(), Phone, "+442079460123", "2079460123", Name, "Wilhelmina", "Quarterstaff", Ip, UserAgent,
        "PrivacyMarkerAgent", QueryMarker, Transcript, "998877", Text, "ping me", Handle, "marker_handle", Loyalty, Device,
    ];

    /// <summary>Each channel's sample carrying every marker, in a clean, a flagged and a quarantined variant.</summary>
    public static TheoryData<Channel, string> Variants
    {
        get
        {
            var data = new TheoryData<Channel, string>();
            foreach (var channel in new[] { Channel.Clickstream, Channel.Store, Channel.Callcenter, Channel.Social })
            {
                foreach (var variant in new[] { "clean", "flagged", "quarantined", "mistyped" })
                {
                    data.Add(channel, variant);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Process_EventWithPersonalData_LeavesNoRawValueInAnyOutput(Channel channel, string variant)
    {
        var sample = Sample(channel, s =>
        {
            Put(s, "email", Email);
            Put(s, "phone", Phone);
            Put(s, "customer_name", Name);
            Put(s, "ip", Ip);
            Put(s, "user_agent", UserAgent);
            Put(s, "url", $"https://user:{QueryMarker}@shop.example.com/shoes?q={QueryMarker}#{QueryMarker}");
            Put(s, "transcript", Transcript);
            Put(s, "text", Text);
            Put(s, "handle", Handle);
            Put(s, "loyalty_id", Loyalty);
            Put(s, "anonymous_id", Device);
            s["unknown_field"] = Email;
            s["nested"] = new JsonObject { ["name"] = Name };
            switch (variant)
            {
                case "flagged":
                    Put(s, "email", "Marker.Person(at)Privacy-Test.example");
                    break;
                case "quarantined":
                    s["occurred_at"] = "2099-01-01T00:00:00Z";
                    break;
                case "mistyped":
                    s["event_id"] = new JsonObject { ["id"] = Email };
                    s["occurred_at"] = Name;
                    break;
                default:
                    break;
            }
        });

        var outcome = Process(channel, sample);
        var output = AllOutput(outcome);

        Assert.NotEmpty(output);
        Assert.Equal(variant == "clean", outcome.Quarantine is null);
        foreach (var marker in Markers)
        {
            Assert.DoesNotContain(marker, output, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData(IdentifierType.Email, "not-an-email")]
    [InlineData(IdentifierType.Email, "jane.doe@@example.com")]
    [InlineData(IdentifierType.Email, "jane.doe@example")]
    [InlineData(IdentifierType.Email, "@example")]
    [InlineData(IdentifierType.Email, "j@x")]
    [InlineData(IdentifierType.Email, "j")]
    [InlineData(IdentifierType.Phone, "12-34")]
    [InlineData(IdentifierType.Phone, "77")]
    [InlineData(IdentifierType.Phone, "555-CALL-NOW")]
    [InlineData(IdentifierType.Phone, "+1 555 010 4477 ext 9")]
    [InlineData(IdentifierType.Device, "abc")]
    [InlineData(IdentifierType.Social, "twitter:@x")]
    public void Mask_InvalidIdentifier_NeverContainsTheRawValue(IdentifierType type, string raw)
    {
        var mask = IdentifierMasker.Mask(type, raw);

        Assert.DoesNotContain(raw.Trim(), mask, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("*", mask, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("jane.doe@@example.com", "j***@example")]
    [InlineData("jane.doe@example", "j***@example")]
    [InlineData("jane doe@mail.example.org", "j***@mail.example")]
    [InlineData("janedoe", "j***")]
    public void Mask_Email_KeepsFirstLetterAndDomainWithoutTld(string raw, string expected) =>
        Assert.Equal(expected, IdentifierMasker.Mask(IdentifierType.Email, raw));

    [Theory]
    [InlineData("(555) 010-44", "(***) ***-44")]
    [InlineData("+49 30 9018200000000", "+** ** ***********00")]
    [InlineData("12-34", "**-**")]
    public void Mask_Phone_KeepsShapeAndLastTwoDigits(string raw, string expected) =>
        Assert.Equal(expected, IdentifierMasker.Mask(IdentifierType.Phone, raw));

    [Fact]
    public void Process_FlaggedEmail_IsMaskedInTheQuarantineCopy()
    {
        var outcome = Process(Channel.Clickstream, Sample(Channel.Clickstream, s => s["email"] = "jane.doe@example"));

        var record = outcome.Quarantine!.Record!.Value;
        Assert.Equal("j***@example", record.GetProperty("email").GetString());
        Assert.Equal("k1:591411f19ea43ad2e64a9e1c3d5054db", record.GetProperty("anonymous_id").GetString());
        Assert.Equal("https://shop.example.com/shoes/running", record.GetProperty("url").GetString());
        Assert.False(record.TryGetProperty("ip", out _));
        Assert.False(record.TryGetProperty("user_agent", out _));
    }

    [Fact]
    public void Process_ConsentWithInvalidIdentifier_MasksItByType()
    {
        var outcome = Process(Channel.Consent, Sample(Channel.Consent, s =>
        {
            s["identifier_type"] = "phone";
            s["identifier"] = "555-CALL-NOW";
        }));

        Assert.Equal("***-****-***", outcome.Quarantine!.Record!.Value.GetProperty("identifier").GetString());
    }

    [Fact]
    public void Process_QuarantineDetails_NeverEchoTheValue()
    {
        var outcome = Process(Channel.Callcenter, Sample(Channel.Callcenter, s =>
        {
            s["reason"] = Email;
            s["agent_id"] = new JsonArray(Name);
            s["duration_s"] = Phone;
            s["phone"] = Phone + " ext 1";
        }));

        Assert.All(outcome.Quarantine!.Reasons, r =>
        {
            Assert.DoesNotContain("Marker", r.Detail, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("7946", r.Detail, StringComparison.Ordinal);
        });
        Assert.DoesNotContain(Name, AllOutput(outcome), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("7946", AllOutput(outcome), StringComparison.Ordinal);
    }

    private static void Put(JsonObject sample, string field, string value)
    {
        if (sample.ContainsKey(field))
        {
            sample[field] = value;
        }
    }
}
