using System.Text.Json.Serialization;

namespace Streams.Profiles.Features;

/// <summary>The stored form of <see cref="ProfileAggregate"/>: snake-case, source-generated, a missing value left out.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProfileAggregate))]
public sealed partial class ProfileJsonContext : JsonSerializerContext;
