using System.Text.Json;
using System.Text.Json.Serialization;

namespace Streams.Contracts.Quarantine;

/// <summary>The one writer and the one reader of ingest's quarantine records (CONTRACT §4), source-generated.</summary>
public static class QuarantineJson
{
    public static byte[] Serialize(QuarantineRecord value) =>
        JsonSerializer.SerializeToUtf8Bytes(value, QuarantineJsonContext.Default.QuarantineRecord);

    public static QuarantineRecord? Deserialize(ReadOnlySpan<byte> utf8) =>
        JsonSerializer.Deserialize(utf8, QuarantineJsonContext.Default.QuarantineRecord);
}

/// <summary>Quarantine records write nulls: CONTRACT §4 shows <c>event_id</c> and <c>record</c> as nullable, not optional.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(QuarantineRecord))]
public sealed partial class QuarantineJsonContext : JsonSerializerContext;
