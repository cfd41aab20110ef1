using System.Text.Json;
using System.Text.Json.Serialization;

namespace Streams.Contracts.Canonical;

/// <summary>The one writer and the one reader of the canonical topic's values (CONTRACT §5.0): events and consent commands.</summary>
public static class CanonicalJson
{
    /// <summary>A canonical event's bytes: <see cref="CanonicalJsonContext"/>'s, written in one pass (<see cref="CanonicalWriter"/>).</summary>
    public static byte[] Serialize(CanonicalEvent value) => CanonicalWriter.Write(value);

    /// <summary>Writes a canonical event as the next value of <paramref name="writer"/>: the bytes of <see cref="Serialize(CanonicalEvent)"/>,
    /// without an array of its own (a value written into a larger document, as lineage groups are).</summary>
    public static void Write(Utf8JsonWriter writer, CanonicalEvent value) => CanonicalWriter.Write(writer, value);

    /// <summary>A consent command's bytes: <see cref="CanonicalJsonContext"/>'s, written in one pass (<see cref="CanonicalWriter"/>).</summary>
    public static byte[] Serialize(ConsentCommand value) => CanonicalWriter.Write(value);

    /// <summary>
    /// Reads a canonical event. The shape ingest writes takes a hand-written path; anything else goes to the serializer,
    /// which stays the reference for what is accepted and what throws <see cref="JsonException"/>.
    /// </summary>
    public static CanonicalEvent? DeserializeCanonicalEvent(ReadOnlySpan<byte> utf8) =>
        CanonicalEventReader.TryRead(utf8, out var value) ? value : JsonSerializer.Deserialize(utf8, CanonicalJsonContext.Default.CanonicalEvent);

    public static ConsentCommand? DeserializeConsentCommand(ReadOnlySpan<byte> utf8) =>
        JsonSerializer.Deserialize(utf8, CanonicalJsonContext.Default.ConsentCommand);
}

/// <summary>
/// Canonical events leave absent optional values out; consumers read a missing field as null. The reference for the
/// bytes <see cref="CanonicalWriter"/> writes, and the reader of shapes the hand-written reader does not take.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(CanonicalEvent))]
[JsonSerializable(typeof(ConsentCommand))]
public sealed partial class CanonicalJsonContext : JsonSerializerContext;
