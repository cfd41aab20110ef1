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
}
