using System.Text.Json;
using System.Text.Json.Serialization;
using Streams.Ingest.Canonical;
using Streams.Ingest.Quarantine;

namespace Streams.Ingest;

/// <summary>Serialization of ingest's outputs, source-generated so the hot path uses no reflection.</summary>
public static class IngestJson
{
    public static byte[] Serialize(CanonicalEvent value) =>
        JsonSerializer.SerializeToUtf8Bytes(value, CanonicalJsonContext.Default.CanonicalEvent);

    public static byte[] Serialize(ConsentCommand value) =>
        JsonSerializer.SerializeToUtf8Bytes(value, CanonicalJsonContext.Default.ConsentCommand);

    public static byte[] Serialize(QuarantineRecord value) =>
        JsonSerializer.SerializeToUtf8Bytes(value, QuarantineJsonContext.Default.QuarantineRecord);

    /// <summary>
    /// Reads a canonical event. The shape ingest writes takes a hand-written path; anything else goes to the serializer,
    /// which stays the reference for what is accepted and what throws <see cref="JsonException"/>.
    /// </summary>
    public static CanonicalEvent? DeserializeCanonicalEvent(ReadOnlySpan<byte> utf8) =>
        CanonicalEventReader.TryRead(utf8, out var value) ? value : JsonSerializer.Deserialize(utf8, CanonicalJsonContext.Default.CanonicalEvent);

    public static ConsentCommand? DeserializeConsentCommand(ReadOnlySpan<byte> utf8) =>
        JsonSerializer.Deserialize(utf8, CanonicalJsonContext.Default.ConsentCommand);

    public static QuarantineRecord? DeserializeQuarantineRecord(ReadOnlySpan<byte> utf8) =>
        JsonSerializer.Deserialize(utf8, QuarantineJsonContext.Default.QuarantineRecord);
}

/// <summary>Canonical events leave absent optional values out; consumers read a missing field as null.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(CanonicalEvent))]
[JsonSerializable(typeof(ConsentCommand))]
public sealed partial class CanonicalJsonContext : JsonSerializerContext;

/// <summary>Quarantine records write nulls: CONTRACT §4 shows <c>event_id</c> and <c>record</c> as nullable, not optional.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(QuarantineRecord))]
public sealed partial class QuarantineJsonContext : JsonSerializerContext;
