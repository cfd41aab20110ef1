using System.Buffers;
using System.Text;
using System.Text.Json;
using Streams.Contracts.Canonical;

namespace Streams.UnitTests.Ingest;

/// <summary>
/// Names copied as prepared members (<see cref="CanonicalName"/>) against the JSON writer, at and past the one-copy
/// size, with and without a separator before them, as names and as values.
/// </summary>
public sealed class CanonicalNameTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(27)]
    [InlineData(28)]
    [InlineData(29)]
    [InlineData(30)]
    [InlineData(200)]
    public void NamesAndValuesOfEveryLength_AreTheWritersBytes(int length)
    {
        var name = CanonicalName.Encode(new string('n', length));
        var value = CanonicalName.Encode(new string('v', length) + "<&>");
        var json = JsonBytes.Rent();
        json.StartObject();
        json.String(name, value);
        json.StartObject(name);
        json.Number(name, 5L);
        json.String(CanonicalNames.Type, value);
        json.EndObject();
        json.StartArray(value);
        json.EndArray();
        json.Boolean(CanonicalNames.Resolved, true);
        json.EndObject();

        var expected = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(expected))
        {
            writer.WriteStartObject();
            writer.WriteString(name.Text, value.Text);
            writer.WriteStartObject(name.Text);
            writer.WriteNumber(name.Text, 5L);
            writer.WriteString(CanonicalNames.Type.Text, value.Text);
            writer.WriteEndObject();
            writer.WriteStartArray(value.Text);
            writer.WriteEndArray();
            writer.WriteBoolean(CanonicalNames.Resolved.Text, true);
            writer.WriteEndObject();
        }

        Assert.Equal(Encoding.UTF8.GetString(expected.WrittenSpan), Encoding.UTF8.GetString(json.ToArray()));
    }

    [Fact]
    public void EveryCanonicalName_FitsOneCopy_AndConvertsToItsText()
    {
        var names = typeof(CanonicalNames).GetFields().Where(f => f.FieldType == typeof(CanonicalName)).Select(f => (CanonicalName)f.GetValue(null)!).ToList();
        Assert.True(names.Count > 30);
        Assert.All(names, name =>
        {
            Assert.True(name.FitsOneCopy, name.ToString());
            JsonEncodedText text = name;
            Assert.Equal(name.ToString(), text.ToString());
        });
    }
}
