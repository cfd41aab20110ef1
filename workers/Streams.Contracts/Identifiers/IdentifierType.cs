using System.Text.Json.Serialization;

namespace Streams.Contracts.Identifiers;

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

/// <summary>The wire names of <see cref="IdentifierType"/> (CONTRACT §3), written and read in one place.</summary>
public static class IdentifierTypeNames
{
    private static readonly string[] Names = ["email", "phone", "loyalty", "device", "social"];

    private static readonly byte[][] Prefixes = [.. Names.Select(name => System.Text.Encoding.UTF8.GetBytes(name + ":"))];

    /// <summary>The wire name: <c>email</c>, <c>phone</c>, <c>loyalty</c>, <c>device</c> or <c>social</c>.</summary>
    public static string Name(IdentifierType type) =>
        (uint)type < (uint)Names.Length ? Names[(int)type] : throw new ArgumentOutOfRangeException(nameof(type), type, null);

    /// <summary>The HMAC input starts with the type name and a colon, so equal values of different types never collide.</summary>
    public static ReadOnlySpan<byte> Utf8Prefix(IdentifierType type) =>
        (uint)type < (uint)Prefixes.Length ? Prefixes[(int)type] : throw new ArgumentOutOfRangeException(nameof(type), type, null);

    /// <summary>The type whose wire name is exactly <paramref name="name"/>.</summary>
    public static bool TryParse(string name, out IdentifierType type)
    {
        var index = Array.IndexOf(Names, name);
        type = (IdentifierType)Math.Max(index, 0);
        return index >= 0;
    }
}
