using Streams.Activation.Requests;
using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;

namespace Streams.UnitTests.Activation;

public sealed class ActivationListReaderTests
{
    [Fact]
    public void Read_CsvWithQuotesAndGaps_MakesOneRequestPerLine()
    {
        var lines = Read(""""
            Record_ID,name,email,phone,loyalty_id
            crm-1,"Doe, Jane", Jane@Example.com ,(555) 010-0199,
            "crm-""2""",x,,,ab-7

            crm-3,y,,,
            """");

        Assert.Equal([2, 3, 5], lines.Select(l => l.Line));
        Assert.Equal([new RequestedIdentifier(IdentifierType.Email, " Jane@Example.com "), new RequestedIdentifier(IdentifierType.Phone, "(555) 010-0199")],
            lines[0].Request!.Identifiers);
        Assert.Equal(("crm-\"2\"", "list-1", "crm", (int?)4), (lines[1].Request!.RecordId, lines[1].Request!.ListId, lines[1].Request!.RequestedBy, lines[1].Request!.SegmentId));
        Assert.Equal([new RequestedIdentifier(IdentifierType.Loyalty, "ab-7")], lines[1].Request!.Identifiers);
        Assert.Equal(("schema_violation", "identifiers"), (lines[2].Refusal!.Code, lines[2].Refusal!.Field));
    }

    [Theory]
    [InlineData("jane@example.com")]
    [InlineData("+44 20 7946 0958")]
    public void Read_RecordIdLookingLikeAnIdentifier_IsRefusedWithoutQuotingIt(string recordId)
    {
        var line = Read($"record_id,email\n{recordId},jane@example.com\n").Single();

        Assert.Null(line.Request);
        Assert.Equal(("personal_data_in_id", "record_id"), (line.Refusal!.Code, line.Refusal.Field));
        Assert.DoesNotContain(recordId, line.Refusal.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("email,phone\n")]
    [InlineData("record_id,name\n")]
    public void Read_WithoutUsableHeader_Throws(string text) => Assert.Throws<FormatException>(() => Read(text));

    [Fact]
    public void Read_IdentifierPastTheRequestLimit_IsRefusedLikeOnTheTopic()
    {
        var longest = new string('a', ActivationRequestReader.MaxValueLength - "@example.com".Length) + "@example.com";
        var lines = Read($"record_id,email\nr-1,{longest}\nr-2,x{longest}\n");

        Assert.NotNull(lines[0].Request);
        Assert.Null(lines[1].Request);
        Assert.Equal(("schema_violation", "identifiers"), (lines[1].Refusal!.Code, lines[1].Refusal!.Field));
        Assert.DoesNotContain(longest, lines[1].Refusal!.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("r-\u001b[2J")]
    [InlineData("r\u0000")]
    [InlineData("r\u0085x")]
    public void Read_RecordIdWithAControlCharacter_IsRefused_SoNothingReachesATerminalRaw(string recordId)
    {
        var line = Assert.Single(Read($"record_id,email\n{recordId},a@b.cd\n"));

        Assert.Null(line.Request);
        Assert.Equal(("schema_violation", "record_id"), (line.Refusal!.Code, line.Refusal!.Field));
    }

    private static List<ListLine> Read(string text) => [.. ActivationListReader.Read(new StringReader(text), "list-1", "crm", 4)];
}
