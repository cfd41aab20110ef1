using System.Text.Json.Serialization;

namespace Streams.Contracts;

/// <summary>The input channels of CONTRACT §2. Topic names are configurable; the channel decides the rules.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Channel>))]
public enum Channel
{
    [JsonStringEnumMemberName("clickstream")] Clickstream,
    [JsonStringEnumMemberName("store")] Store,
    [JsonStringEnumMemberName("callcenter")] Callcenter,
    [JsonStringEnumMemberName("social")] Social,
    [JsonStringEnumMemberName("consent")] Consent,
}
