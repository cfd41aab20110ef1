using System.Text.Json;
using Json.Schema;
using Streams.Profiles.Processing;

namespace Streams.UnitTests.Schemas;

/// <summary>The profile-merge schema holds every record the profiles worker and the unmerge/detach commands write.</summary>
public sealed class ProfileMergeSchemaTests
{
    private static readonly Lazy<JsonSchema> Schema = new(() => JsonSchema.FromText(File.ReadAllText(Find()), new BuildOptions { SchemaRegistry = new SchemaRegistry() }));

    private static readonly DateTimeOffset At = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void MergeUnmergeAndDetachRecords_AreValid()
    {
        var writer = new ProfileRecordWriter();
        foreach (var record in new[]
                 {
                     writer.Merge("m-1", "p-a", "p-b", At, "evt-1"),
                     writer.Split("unmerge", "m-1", "p-a", "p-b", At),
                     writer.Split("detach", null, "p-c", "p-b", At),
                 })
        {
            using var document = JsonDocument.Parse(record);
            Assert.True(Schema.Value.Evaluate(document.RootElement).IsValid, document.RootElement.GetRawText());
        }
    }

    [Theory]
    [InlineData("""{"kind":"merge","merge_id":null,"from":"p-a","into":"p-b","at":"2026-12-04T12:00:00.000Z","event_id":"e"}""")]
    [InlineData("""{"kind":"merge","merge_id":"m","from":"p-a","into":"p-b","at":"2026-12-04T12:00:00.000Z"}""")]
    [InlineData("""{"kind":"split","merge_id":"m","from":"p-a","into":"p-b","at":"2026-12-04T12:00:00.000Z"}""")]
    [InlineData("""{"from":"p-a","into":"p-b","at":"2026-12-04T12:00:00.000Z"}""")]
    public void RecordsMissingWhatAConsumerNeeds_AreInvalid(string json)
    {
        using var document = JsonDocument.Parse(json);
        Assert.False(Schema.Value.Evaluate(document.RootElement).IsValid);
    }

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var file = Path.Combine(dir.FullName, "schemas", "profile-merge.schema.json");
            if (File.Exists(file))
            {
                return file;
            }
        }

        throw new InvalidOperationException("schemas/profile-merge.schema.json not found");
    }
}
