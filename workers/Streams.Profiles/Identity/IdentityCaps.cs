using Streams.Contracts.Identifiers;

namespace Streams.Profiles.Identity;

/// <summary>
/// The most identifiers of each type one profile may hold (CONTRACT §4 <c>identity_conflict</c>). The caps keep a
/// shared identifier (a family loyalty card, a library computer) from fusing many people into one profile.
/// </summary>
/// <param name="SharedAfterRefusals">An identifier that carried this many events to its profile whose new identifiers
/// the caps then refused is marked shared, and never links again (CONTRACT §4); 0 turns the rule off.</param>
public sealed record IdentityCaps(int Email = 5, int Phone = 5, int Loyalty = 3, int Device = 20, int Social = 10, int SharedAfterRefusals = 0)
{
    public int For(IdentifierType type) => type switch
    {
        IdentifierType.Email => Email,
        IdentifierType.Phone => Phone,
        IdentifierType.Loyalty => Loyalty,
        IdentifierType.Device => Device,
        IdentifierType.Social => Social,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}

/// <summary>
/// What identity resolution remembers about one linked identifier beyond its link: how often the caps refused an
/// identifier that arrived beside it, and since when it is shared (null: it is not).
/// </summary>
public readonly record struct IdentifierMark(int Refusals, DateTimeOffset? SharedAt)
{
    public bool IsShared => SharedAt is not null;
}
