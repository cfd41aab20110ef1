using System.Text.Json;
using System.Text.Json.Serialization;

namespace Streams.Contracts;

/// <summary>Writes instants as UTC with <c>Z</c> (<c>2026-11-28T14:03:11.25Z</c>), the form CONTRACT §1 shows.</summary>
internal sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetDateTimeOffset();

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime);
}
