using System.Text;
using Streams.Activation.Requests;
using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles.Store;
using Streams.Segmentation.Store;
using Streams.UnitTests.Ingest;

namespace Streams.UnitTests.Activation;

public sealed class ActivationMatcherTests
{
    private readonly Pseudonymizer pseudonymizer = IngestTestKit.Pseudonymizer();

    private ActivationMatcher Matcher => new(pseudonymizer);

    [Fact]
    public void Pseudonymize_IdentifiersSpelledDifferently_GiveIngestsPseudonyms()
    {
        var row = Matcher.Pseudonymize(Request("crm-1",
            (IdentifierType.Email, "  Jane.Doe@Example.COM "), (IdentifierType.Phone, "(555) 010-0199"),
            (IdentifierType.Loyalty, " ab-77 "), (IdentifierType.Social, "twitter:@JaneDoe")))!;

        Assert.Equal(
            [Pseudo(IdentifierType.Email, "jane.doe@example.com"), Pseudo(IdentifierType.Phone, "+15550100199"),
             Pseudo(IdentifierType.Loyalty, "AB-77"), Pseudo(IdentifierType.Social, "twitter:janedoe")],
            row.Pseudonyms);
        Assert.Equal("crm-1", row.RecordId);
    }

    [Fact]
    public void Pseudonymize_InvalidAndRepeatedIdentifiers_AreLeftOut()
    {
        var row = Matcher.Pseudonymize(Request("crm-1",
            (IdentifierType.Email, "not an address"), (IdentifierType.Email, "JANE@example.com"), (IdentifierType.Email, "jane@example.com")))!;

        Assert.Equal([Pseudo(IdentifierType.Email, "jane@example.com")], row.Pseudonyms);
    }

    [Theory]
    [InlineData("5550100199")]
    [InlineData("555-010-0199")]
    public void Pseudonymize_RecordIdIsTheRowsOwnPhone_IsRefused(string recordId) =>
        Assert.Null(Matcher.Pseudonymize(Request(recordId, (IdentifierType.Phone, "+1 (555) 010-0199"))));

    [Fact]
    public void Pseudonymize_RecordIdIsTheRowsOwnLoyaltyId_IsRefused() =>
        Assert.Null(Matcher.Pseudonymize(Request("ab-77", (IdentifierType.Loyalty, "AB-77"))));

    [Fact]
    public void Answer_ConsentingProfileWithASegment_IsMatched()
    {
        var email = Pseudo(IdentifierType.Email, "jane@example.com");
        var answer = ActivationMatcher.Answer(Row("crm-1", null, email),
            new Dictionary<string, LinkedProfile> { [email] = new("p1", true) },
            new Dictionary<string, PublishedSegment> { ["p1"] = new(3, 7, "Buys often.") });

        Assert.True(answer.Matched);
        Assert.Equal("crm-1"u8.ToArray(), answer.Key);
        Assert.Equal("""{"record_id":"crm-1","list_id":"list-1","status":"matched","segment_id":3,"model_version":7,"summary":"Buys often.","personalization_allowed":true}""",
            Encoding.UTF8.GetString(answer.Value));
    }

    [Fact]
    public void Answer_EveryReasonToSayNothing_IsTheSameUnknownAnswer()
    {
        string[] p = [Pseudo(IdentifierType.Email, "a@example.com"), Pseudo(IdentifierType.Email, "b@example.com"), Pseudo(IdentifierType.Phone, "+15550100199")];
        var profiles = new Dictionary<string, LinkedProfile> { [p[0]] = new("p1", true), [p[1]] = new("p2", false), [p[2]] = new("p3", true) };
        var segments = new Dictionary<string, PublishedSegment> { ["p1"] = new(3, 7, "Buys often."), ["p2"] = new(3, 7, "Buys often.") };
        var unknown = """{"record_id":"crm-1","list_id":"list-1","status":"unknown","segment_id":null,"model_version":null,"summary":null,"personalization_allowed":false}""";

        PseudonymousRequest[] cases =
        [
            Row("crm-1", null, Pseudo(IdentifierType.Email, "nobody@example.com")), // no profile (never seen, or erased)
            Row("crm-1", null, p[1]), // opted out
            Row("crm-1", null, p[0], p[1]), // one of its links opted out
            Row("crm-1", null, p[0], p[2]), // identifiers of two profiles
            Row("crm-1", null, p[2]), // no published segment
            Row("crm-1", 4, p[0]), // another segment than the one asked for
            Row("crm-1", null), // no valid identifier
        ];
        foreach (var row in cases)
        {
            var answer = ActivationMatcher.Answer(row, profiles, segments);
            Assert.False(answer.Matched);
            Assert.Equal(unknown, Encoding.UTF8.GetString(answer.Value));
        }

        Assert.True(ActivationMatcher.Answer(Row("crm-1", 3, p[0]), profiles, segments).Matched);
    }

    private string Pseudo(IdentifierType type, string normalized) => pseudonymizer.Pseudonymize(type, normalized);

    private static ActivationRequest Request(string recordId, params (IdentifierType Type, string Value)[] identifiers) =>
        new("list-1", recordId, "crm", [.. identifiers.Select(i => new RequestedIdentifier(i.Type, i.Value))], null);

    private static PseudonymousRequest Row(string recordId, int? segment, params string[] pseudonyms) =>
        new("list-1", recordId, "crm", pseudonyms, segment);
}
