using System.Text.Json;
using System.Text.Json.Serialization;

namespace Streams.Stewards.Pages;

[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class StewardsJsonContext : JsonSerializerContext
{
    /// <summary>Records shown to a person: indented, and non-ASCII letters kept as they are (the page encodes them).</summary>
    public static StewardsJsonContext Indented { get; } = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
