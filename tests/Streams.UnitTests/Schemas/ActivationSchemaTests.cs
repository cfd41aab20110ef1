using System.Text;
using System.Text.Json;
using Json.Schema;
using Streams.Activation.Requests;
using Streams.Segmentation.Store;

namespace Streams.UnitTests.Schemas;

/// <summary>The activation schemas say what the activation worker reads and writes.</summary>
public sealed class ActivationSchemaTests
{
    private static readonly Lazy<JsonSchema> RequestSchema = new(() => Load("activation-request"));
    private static readonly Lazy<JsonSchema> ResponseSchema = new(() => Load("activation-response"));

    [Theory]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","identifiers":[{"type":"email","value":"a@b.cd"}]}""", true)]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","segment_id":null,"identifiers":[{"type":"phone","value":"x"}]}""", true)]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","segment_id":2,"extra":{},"identifiers":[{"type":"social","value":"reddit:u"}]}""", true)]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","identifiers":[]}""", false)]
    [InlineData("""{"list_id":"l","record_id":" ","requested_by":"b","identifiers":[{"type":"email","value":"a@b.cd"}]}""", false)]
    [InlineData("""{"list_id":"l","requested_by":"b","identifiers":[{"type":"email","value":"a@b.cd"}]}""", false)]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","identifiers":[{"type":"fax","value":"1"}]}""", false)]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","identifiers":[{"type":"email"}]}""", false)]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","segment_id":-2,"identifiers":[{"type":"email","value":"a@b.cd"}]}""", false)]
    [InlineData("""{"list_id":"l","record_id":"r","requested_by":"b","segment_id":"2","identifiers":[{"type":"email","value":"a@b.cd"}]}""", false)]
    [InlineData("""["l"]""", false)]
    public void RequestSchema_AndTheWorker_AgreeOnWhatIsWellFormed(string json, bool valid)
    {
        using var document = JsonDocument.Parse(json);
        Assert.Equal(valid, RequestSchema.Value.Evaluate(document.RootElement).IsValid);
        Assert.Equal(valid, ActivationRequestReader.Read(Encoding.UTF8.GetBytes(json), out _) is not null);
    }

    [Fact]
    public void ResponseSchema_HoldsBothAnswersTheWorkerWrites()
    {
        var row = new PseudonymousRequest("list-1", "crm-1", "crm", [], null);
        foreach (var segment in new PublishedSegment?[] { null, new(3, 2, "Buys often.") })
        {
            using var document = JsonDocument.Parse(ActivationMatcher.Write(row, segment));
            Assert.True(ResponseSchema.Value.Evaluate(document.RootElement).IsValid, document.RootElement.GetRawText());
        }

        using var mixed = JsonDocument.Parse("""{"record_id":"r","list_id":"l","status":"unknown","segment_id":3,"model_version":null,"summary":null,"personalization_allowed":false}""");
        Assert.False(ResponseSchema.Value.Evaluate(mixed.RootElement).IsValid);
    }

    private static JsonSchema Load(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var file = Path.Combine(dir.FullName, "schemas", name + ".schema.json");
            if (File.Exists(file))
            {
                return JsonSchema.FromText(File.ReadAllText(file), new BuildOptions { SchemaRegistry = new SchemaRegistry() });
            }
        }

        throw new InvalidOperationException($"schemas/{name}.schema.json not found above {AppContext.BaseDirectory}");
    }
}
