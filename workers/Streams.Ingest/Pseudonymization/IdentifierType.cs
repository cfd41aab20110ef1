using System.Text.Json.Serialization;

namespace Streams.Ingest.Pseudonymization;

/// <summary>The kinds of identifier a pseudonym can stand for (CONTRACT §3). The wire name is part of the HMAC input.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<IdentifierType>))]
public enum IdentifierType
{
    /// <summary><c>email</c>: from the <c>email</c> field.</summary>
    [JsonStringEnumMemberName("email")] Email,

    /// <summary><c>phone</c>: from the <c>phone</c> field.</summary>
    [JsonStringEnumMemberName("phone")] Phone,

    /// <summary><c>loyalty</c>: from the <c>loyalty_id</c> field.</summary>
    [JsonStringEnumMemberName("loyalty")] Loyalty,

    /// <summary><c>device</c>: from the clickstream <c>anonymous_id</c> field.</summary>
    [JsonStringEnumMemberName("device")] Device,

    /// <summary><c>social</c>: from the social <c>platform</c> and <c>handle</c> fields.</summary>
    [JsonStringEnumMemberName("social")] Social,
}

internal static class IdentifierTypeNames
{
    /// <summary>The HMAC input starts with the type name and a colon, so equal values of different types never collide.</summary>
    public static ReadOnlySpan<byte> Utf8Prefix(IdentifierType type) => type switch
    {
        IdentifierType.Email => "email:"u8,
        IdentifierType.Phone => "phone:"u8,
        IdentifierType.Loyalty => "loyalty:"u8,
        IdentifierType.Device => "device:"u8,
        IdentifierType.Social => "social:"u8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static bool TryParse(string name, out IdentifierType type)
    {
        (var found, type) = name switch
        {
            "email" => (true, IdentifierType.Email),
            "phone" => (true, IdentifierType.Phone),
            "loyalty" => (true, IdentifierType.Loyalty),
            "device" => (true, IdentifierType.Device),
            "social" => (true, IdentifierType.Social),
            _ => (false, default),
        };
        return found;
    }
}
