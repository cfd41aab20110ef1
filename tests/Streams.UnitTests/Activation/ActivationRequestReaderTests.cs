using System.Text;
using Streams.Activation.Requests;
using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;

namespace Streams.UnitTests.Activation;

public sealed class ActivationRequestReaderTests
{
    [Fact]
    public void Read_SegmentOfEachRow_ReadsEveryField()
    {
        var request = Read("""
            {"list_id":"spring-27","record_id":"crm-000123","requested_by":"crm-emea","unknown":1,
             "identifiers":[{"type":"email","value":" Jane@Example.com "},{"type":"social","value":"twitter:@jane"}]}
            """, out var refusal);

        Assert.Null(refusal);
        Assert.NotNull(request);
        Assert.Equal(("spring-27", "crm-000123", "crm-emea", (int?)null), (request.ListId, request.RecordId, request.RequestedBy, request.SegmentId));
        Assert.Equal([new RequestedIdentifier(IdentifierType.Email, " Jane@Example.com "), new RequestedIdentifier(IdentifierType.Social, "twitter:@jane")],
            request.Identifiers);
    }

    [Fact]
    public void Read_MembersOfSegment_ReadsTheFilter()
    {
        var request = Read("""{"list_id":"l","record_id":"r","requested_by":"b","segment_id":3,"identifiers":[{"type":"loyalty","value":"ab-1"}]}""", out _);

        Assert.Equal(3, request!.SegmentId);
    }

    [Theory]
    [InlineData("{\"list_id\":", "malformed_json", null)]
    [InlineData("[1,2]", "malformed_json", null)]
    [InlineData("""{"list_id":"l","record_id":"r","record_id":"jane@example.com","requested_by":"b","identifiers":[{"type":"email","value":"a@b.cd"}]}""", "malformed_json", null)]
    [InlineData("""{"list_id":"l","requested_by":"b","identifiers":[{"type":"email","value":"a@b.cd"}]}""", "schema_violation", "record_id")]
    [InlineData("""{"list_id":"l","record_id":"  ","requested_by":"b","identifiers":[{"type":"email","value":"a@b.cd"}]}""", "schema_violation", "record_id")]
    [InlineData("""{"list_id":"l","record_id":"r","identifiers":[{"type":"email","value":"a@b.cd"}]}""", "schema_violation", "requested_by")]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","identifiers":[]}""", "schema_violation", "identifiers")]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","identifiers":[{"type":"name","value":"Jane"}]}""", "schema_violation", "identifiers")]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","identifiers":[{"type":"email","value":5}]}""", "schema_violation", "identifiers")]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","segment_id":-1,"identifiers":[{"type":"email","value":"a@b.cd"}]}""", "schema_violation", "segment_id")]
    [InlineData("""{"list_id":"l","record_id":"jane@example.com","requested_by":"b","identifiers":[{"type":"email","value":"jane@example.com"}]}""", "personal_data_in_id", "record_id")]
    [InlineData("""{"list_id":"l","record_id":"+44 20 7946 0958","requested_by":"b","identifiers":[{"type":"email","value":"a@b.cd"}]}""", "personal_data_in_id", "record_id")]
    [InlineData("""{"list_id":"vip@example.com","record_id":"r","requested_by":"b","identifiers":[{"type":"email","value":"a@b.cd"}]}""", "personal_data_in_id", "list_id")]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"jane.doe@example.com","identifiers":[{"type":"email","value":"a@b.cd"}]}""", "personal_data_in_id", "requested_by")]
    public void Read_Refused_SaysWhyWithoutQuotingTheValue(string json, string code, string? field)
    {
        Assert.Null(Read(json, out var refusal));
        Assert.Equal((code, field), (refusal!.Code, refusal.Field));
        Assert.DoesNotContain("example.com", refusal.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("7946", refusal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ElevenIdentifiers_IsASchemaViolation()
    {
        var identifiers = string.Join(',', Enumerable.Range(0, 11).Select(i => $$"""{"type":"loyalty","value":"L{{i}}"}"""));

        Assert.Null(Read($$"""{"list_id":"l","record_id":"r","requested_by":"b","identifiers":[{{identifiers}}]}""", out var refusal));
        Assert.Equal("identifiers", refusal!.Field);
    }

    [Theory]
    [InlineData("jane@example.com", true)]
    [InlineData("@jane", true)]
    [InlineData("+1 555 010 0199", true)]
    [InlineData(" 0044 20 7946 0958", true)]
    [InlineData("crm-000123", false)]
    [InlineData("12345678", false)]
    [InlineData("+crm-1", false)]
    [InlineData("550e8400-e29b-41d4-a716-446655440000", false)]
    public void LooksPersonal_EmailOrInternationalPhoneShapes(string id, bool personal) =>
        Assert.Equal(personal, ActivationRequestReader.LooksPersonal(id));

    // A lone surrogate (escaped, so the bytes are valid UTF-8) cannot become a .NET string: a reader that asked for one
    // anyway threw, and one such row failed the batch it came in on every retry.
    [Theory]
    [InlineData("""{"list_id":"\ud800","record_id":"r","requested_by":"b","identifiers":[{"type":"email","value":"a@b.cd"}]}""", "list_id")]
    [InlineData("""{"list_id":"l","record_id":"r-\udfff","requested_by":"b","identifiers":[{"type":"email","value":"a@b.cd"}]}""", "record_id")]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"\ud83d","identifiers":[{"type":"email","value":"a@b.cd"}]}""", "requested_by")]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","identifiers":[{"type":"\ud800mail","value":"a@b.cd"}]}""", "identifiers")]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","identifiers":[{"type":"email","value":"a\udc00@b.cd"}]}""", "identifiers")]
    [InlineData("""{"list_id":"spring\nINFO forged log line","record_id":"r","requested_by":"b","identifiers":[{"type":"email","value":"a@b.cd"}]}""", "list_id")]
    [InlineData("""{"list_id":"l","record_id":"r\u0000","requested_by":"b","identifiers":[{"type":"email","value":"a@b.cd"}]}""", "record_id")]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b\u0085","identifiers":[{"type":"email","value":"a@b.cd"}]}""", "requested_by")]
    public void Read_LoneSurrogateOrControlCharacterInAnyString_IsASchemaViolation_NotAnException(string json, string field)
    {
        var request = Read(json, out var refusal);

        Assert.Null(request);
        Assert.Equal(("schema_violation", field), (refusal!.Code, refusal.Field));
    }

    private static ActivationRequest? Read(string json, out Streams.Contracts.Quarantine.QuarantineReason? refusal) =>
        ActivationRequestReader.Read(Encoding.UTF8.GetBytes(json), out refusal);
}
