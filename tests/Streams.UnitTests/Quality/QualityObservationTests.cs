using System.Text;
using Streams.Contracts;
using Streams.Contracts.Outputs;
using Streams.Contracts.Topics;
using Streams.Ingest;
using Streams.Ingest.Worker;
using Streams.Quality.Figures;

namespace Streams.UnitTests.Quality;

public sealed class QualityObservationTests
{
    private readonly QualityObservation observation = new(new TopicCatalog(new TopicsOptions()));

    [Theory]
    [InlineData("quarantined", 1, 1, 0)]
    [InlineData("flagged", 0, 0, 1)]
    public void QuarantineRecord_CountsByDisposition_TopicFromTheQuarantineTopic(string disposition, long inputs, long quarantined, long flagged)
    {
        var value = $$"""{"source":{"topic":"elsewhere","partition":0,"offset":1},"disposition":"{{disposition}}","reasons":[{"code":"invalid_email"},{"code":"invalid_email"}]}""";
        var (topic, figures) = observation.Read("store.quarantine", null, Encoding.UTF8.GetBytes(value))!.Value;
        Assert.Equal("store", topic);
        Assert.Equal(new QualityFigures(inputs, quarantined, flagged, new Dictionary<string, long> { ["invalid_email"] = 1 }), figures);
    }

    [Theory]
    [InlineData("jane@example.com")]
    [InlineData("Invalid_Email")]
    [InlineData("")]
    [InlineData("a_code_that_is_far_too_long_to_be_a_reason_code_of_this_contract_at_all_really")]
    public void ReasonCode_NotAPlainIdentifier_IsCountedAsUnrecognized_NeverCopied(string code)
    {
        var value = $$"""{"disposition":"quarantined","reasons":[{"code":"{{code}}"}]}""";
        var (_, figures) = observation.Read("store.quarantine", null, Encoding.UTF8.GetBytes(value))!.Value;
        Assert.Equal([QualityObservation.UnrecognizedCode], figures.Reasons.Keys);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"disposition":5}""")]
    [InlineData("""{"disposition":"quarantined","reasons":[{"code":"\ud800"}]}""")]
    [InlineData("""{"disposition":"\udfff","reasons":[]}""")]
    public void QuarantineRecord_NotTheContractShape_IsNotCounted(string value) =>
        Assert.Null(observation.Read("store.quarantine", null, Encoding.UTF8.GetBytes(value)));

    [Fact]
    public void CanonicalRecord_CountsAsAnInputOfItsSourceTopic_OnlyWhenIngestWroteIt()
    {
        var headers = OutputHeaders.For(new SourcePosition("clickstream", 3, 7), OutputHeaders.KindEvent);
        Assert.Equal(("clickstream", QualityFigures.Input), observation.Read("streams.canonical-events", headers, "{}"u8)!.Value);
        Assert.Null(observation.Read("streams.canonical-events", null, "{}"u8));
        Assert.Null(observation.Read("streams.canonical-events", OutputHeaders.For(new SourcePosition("profiles", 0, 1), OutputHeaders.KindEvent), "{}"u8));
        Assert.Null(observation.Read("profiles", headers, "{}"u8));
    }
}
