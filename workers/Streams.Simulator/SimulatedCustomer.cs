namespace Streams.Simulator;

/// <summary>A social-media identity: CONTRACT §2.4 <c>platform</c> and <c>handle</c> (without the <c>@</c>).</summary>
public sealed record SocialHandle(string Platform, string Handle)
{
    /// <summary>The consent form of the identifier (CONTRACT §2.5): <c>platform:handle</c>.</summary>
    public override string ToString() => Platform + ":" + Handle;
}

/// <summary>
/// One synthetic person and the raw identifiers they use on different channels over time: a device before login,
/// the email at login, the phone at the call center, the loyalty card at the till, the handle on social media.
/// Identifiers are unique per customer except a family card (<see cref="FamilyId"/>), which several customers share.
/// </summary>
public sealed record SimulatedCustomer(
    int Id,
    Persona Persona,
    string Name,
    IReadOnlyList<string> DeviceIds,
    string Email,
    string Phone,
    string? LoyaltyId,
    SocialHandle Social,
    int? FamilyId)
{
    /// <summary>True when <see cref="LoyaltyId"/> is a family card shared with other customers.</summary>
    public bool SharesLoyaltyCard => FamilyId is not null;
}
