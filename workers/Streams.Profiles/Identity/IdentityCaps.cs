using Streams.Ingest.Pseudonymization;

namespace Streams.Profiles.Identity;

/// <summary>
/// The most identifiers of each type one profile may hold (CONTRACT §4 <c>identity_conflict</c>). The caps keep a
/// shared identifier (a family loyalty card, a library computer) from fusing many people into one profile.
/// </summary>
public sealed record IdentityCaps(int Email = 5, int Phone = 5, int Loyalty = 3, int Device = 20, int Social = 10)
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
