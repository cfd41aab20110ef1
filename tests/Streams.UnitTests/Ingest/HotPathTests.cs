using System.Text;
using Microsoft.Extensions.Options;
using Streams.Contracts;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Quarantine;
using Streams.Ingest;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Validation;
using static Streams.UnitTests.Ingest.IngestTestKit;

namespace Streams.UnitTests.Ingest;

/// <summary>
/// The shortcuts of the per-record path (fields checked without being copied, one reused HMAC per thread) reach the
/// same verdicts and pseudonyms as the plain way.
/// </summary>
public sealed class HotPathTests
{
    public static TheoryData<Channel, string, string> ForgottenFields => new()
    {
        { Channel.Callcenter, "My card number", "transcript" },
        { Channel.Callcenter, "Jane Doe", "customer_name" },
        { Channel.Callcenter, "agent-7", "agent_id" },
        { Channel.Clickstream, "203.0.113.42", "ip" },
        { Channel.Clickstream, "https://shop", "url" }, // page_category is given, so the URL is only checked
        { Channel.Social, "Loved the shoes", "text" },
        { Channel.Store, "Jane Doe", "customer_name" },
        { Channel.Store, "SKU-1", "items[0].sku" },
    };

    [Theory]
    [MemberData(nameof(ForgottenFields))]
    public void Process_LoneSurrogateInCheckedOnlyField_IsSchemaViolationOnThatField(Channel channel, string text, string field)
    {
        var outcome = Process(channel, Sample(channel).ToJsonString().Replace(text, "\\ud800" + text, StringComparison.Ordinal));

        Assert.Equal([ReasonCodes.SchemaViolation], outcome.ReasonCodes);
        Assert.Equal(field, Assert.Single(outcome.Quarantine!.Reasons).Field);
    }

    [Theory]
    [MemberData(nameof(ForgottenFields))]
    public void Process_EscapedTextInCheckedOnlyField_IsAccepted(Channel channel, string text, string field)
    {
        _ = field;
        var outcome = Process(channel, Sample(channel).ToJsonString().Replace(text, "\\u00e9\\ud83d\\ude00\\\"\\n" + text, StringComparison.Ordinal));

        Assert.Equal(IngestDisposition.Accepted, outcome.Disposition);
        Assert.Empty(outcome.ReasonCodes);
    }

    public static TheoryData<Channel, string, string> ShortFields => new()
    {
        { Channel.Callcenter, "phone", "+44 20 7946 0958" },
        { Channel.Store, "email", "Jane+Shop@Example.com" },
        { Channel.Store, "loyalty_id", "LOY-77+1" },
        { Channel.Clickstream, "anonymous_id", "dev+42" },
        { Channel.Clickstream, "occurred_at", "2026-11-28T15:03:11.250+01:00" },
        { Channel.Store, "currency", "EUR" },
    };

    /// <summary>
    /// Short ASCII fields (identifiers, the timestamp, the currency) read from the stack: written with every character
    /// escaped (as .NET's default encoder escapes '+'), they give the very output of the plain text.
    /// </summary>
    [Theory]
    [MemberData(nameof(ShortFields))]
    public void Process_ShortFieldWithEscapes_ReadsAsWithout(Channel channel, string field, string value)
    {
        var relaxed = new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        var plain = Sample(channel, s => s[field] = value).ToJsonString(relaxed);
        var quoted = System.Text.Json.Nodes.JsonValue.Create(value).ToJsonString(relaxed);
        Assert.Contains(quoted, plain, StringComparison.Ordinal);
        var escaped = plain.Replace(quoted, "\"" + string.Concat(value.Select(c => $"\\u{(int)c:x4}")) + "\"", StringComparison.Ordinal);

        var expected = Process(channel, plain);
        Assert.Equal(IngestDisposition.Accepted, expected.Disposition);
        Assert.Equal(AllOutput(expected), AllOutput(Process(channel, escaped)));
    }

    /// <summary>An escaped lone surrogate in a short field is still reported on that field, not read as text.</summary>
    [Theory]
    [MemberData(nameof(ShortFields))]
    public void Process_LoneSurrogateInShortField_IsSchemaViolationOnThatField(Channel channel, string field, string value)
    {
        var json = Sample(channel, s => s[field] = value).ToJsonString();
        var outcome = Process(channel, json.Replace($"\"{field}\":\"", $"\"{field}\":\"\\ud800", StringComparison.Ordinal));

        Assert.Contains(ReasonCodes.SchemaViolation, outcome.ReasonCodes);
        Assert.Contains(outcome.Quarantine!.Reasons, r => r.Field == field && r.Code == ReasonCodes.SchemaViolation);
    }

    /// <summary>
    /// A checked-only field with escapes is measured in code points of its decoded text, as a JSON Schema validator
    /// measures it: an escaped astral character is 12 bytes of input, 4 of UTF-8 and 2 UTF-16 units, but one code point.
    /// </summary>
    [Theory]
    [InlineData(Channel.Callcenter, 0)]
    [InlineData(Channel.Callcenter, 1)]
    [InlineData(Channel.Store, 0)]
    [InlineData(Channel.Store, 1)]
    public void Process_EscapedCheckedOnlyFieldAtItsLimit_CountsCodePoints(Channel channel, int over)
    {
        var name = string.Concat(Enumerable.Repeat("\\ud83d\\ude00", FieldLengths.CustomerName - 2)) + "\\u00e9\\n" + new string('x', over);
        var outcome = Process(channel, Sample(channel).ToJsonString().Replace("Jane Doe", name, StringComparison.Ordinal));

        if (over == 0)
        {
            Assert.Equal(IngestDisposition.Accepted, outcome.Disposition);
        }
        else
        {
            Assert.Equal([ReasonCodes.SchemaViolation], outcome.ReasonCodes);
            Assert.Equal("customer_name", Assert.Single(outcome.Quarantine!.Reasons).Field);
        }
    }

    [Fact]
    public void Pseudonymize_TwoKeysAlternatingOnOneThread_EachUsesItsOwnKey()
    {
        var first = Pseudonymizer();
        var options = PseudonymizationOptions();
        options.Keys["k2"] = Convert.ToBase64String(Enumerable.Range(100, 32).Select(i => (byte)i).ToArray());
        options.ActiveKeyId = "k2";
        var second = new Pseudonymizer(Options.Create(options));
        var expectedSecond = second.Pseudonymize(IdentifierType.Email, "jane.doe@example.com");

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("k1:39b1afb632528e3dbf5a96cf7207fb42", first.Pseudonymize(IdentifierType.Email, "jane.doe@example.com"));
            Assert.Equal(expectedSecond, second.Pseudonymize(IdentifierType.Email, "jane.doe@example.com"));
        }
    }

    [Fact]
    public void Process_RecordsOneAfterAnotherOnOneThread_KeepTheirOwnReasons()
    {
        // One collector per thread judges every record: a record's reasons must neither reach the next record nor be
        // changed by it.
        var pipeline = Pipeline();
        var flagged = pipeline.Process(Channel.Store, Source, Encoding.UTF8.GetBytes(Sample(Channel.Store, s => s["total"] = 1000).ToJsonString()));
        var quarantined = pipeline.Process(Channel.Store, Source, Encoding.UTF8.GetBytes(Sample(Channel.Store, s => s.Remove("store_id")).ToJsonString()));
        var clean = pipeline.Process(Channel.Store, Source, Encoding.UTF8.GetBytes(Sample(Channel.Store).ToJsonString()));

        Assert.Equal([ReasonCodes.TotalMismatch], flagged.ReasonCodes);
        Assert.Equal([ReasonCodes.TotalMismatch], flagged.Event!.Flags);
        Assert.Equal([ReasonCodes.TotalMismatch], flagged.Quarantine!.Reasons.Select(r => r.Code));
        Assert.Equal([ReasonCodes.SchemaViolation], quarantined.ReasonCodes);
        Assert.Equal("store_id", Assert.Single(quarantined.Quarantine!.Reasons).Field);
        Assert.Equal(IngestDisposition.Accepted, clean.Disposition);
        Assert.Empty(clean.ReasonCodes);
        Assert.Empty(clean.Event!.Flags);
        Assert.Null(clean.Quarantine);
    }
}
