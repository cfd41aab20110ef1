using System.Text.Json.Serialization;
using Streams.Contracts.Quarantine;

namespace Streams.Quality.Stewardship;

/// <summary>The reasons of an index row (jsonb), source-generated.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(List<QuarantineReason>))]
internal sealed partial class StewardshipJsonContext : JsonSerializerContext;
