using System.ComponentModel.DataAnnotations;

namespace Streams.Profiles.Identity;

/// <summary>Configuration section <c>Identity</c>: <c>Identity:MaxPerType:email</c> and so on (CONTRACT §4).</summary>
public sealed class IdentityOptions : IValidatableObject
{
    public const string SectionName = "Identity";

    public MaxPerTypeOptions MaxPerType { get; set; } = new();

    /// <summary>
    /// The automatic shared rule: an identifier beside which the caps refused this many new identifiers (a family card
    /// beyond <c>MaxPerType:email</c> members, a library computer) is marked shared and never links again. 0 (the
    /// default) turns it off.
    /// </summary>
    [Range(0, 1_000_000)]
    public int SharedAfterRefusals { get; set; }

    /// <summary>
    /// How long each event is kept, pseudonymous and as it was used, so that an operator can undo a merge or detach an
    /// identifier and have the profiles re-derived exactly (CONTRACT §5.4); default 30 days, 0 keeps nothing (then a
    /// profile can be split only while none of its events is older than the last change of this setting). A profile
    /// with an event older than this cannot be split.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan LineageRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// The most bytes of kept events an <c>unmerge</c> or <c>detach</c> re-derives (default 128 MiB): a profile whose
    /// events, with those of the profiles merged into it, hold more is refused, and nothing changes. A profile's kept
    /// events have no bound of their own (an identifier that sent events all month), and a split reads them into the
    /// memory of the process that runs it, the host of the stewards' console among them; a command run for one large
    /// profile may raise it.
    /// </summary>
    [Range(1024L, 512L * 1024 * 1024)]
    public long MaxSplitLineageBytes { get; set; } = 128L * 1024 * 1024;

    public IdentityCaps Caps => new(MaxPerType.Email, MaxPerType.Phone, MaxPerType.Loyalty, MaxPerType.Device, MaxPerType.Social, SharedAfterRefusals);

    /// <summary>Data annotations do not descend into nested objects on their own.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(MaxPerType, new ValidationContext(MaxPerType), results, validateAllProperties: true);
        return results.Select(r => new ValidationResult(r.ErrorMessage, [.. r.MemberNames.Select(m => $"{nameof(MaxPerType)}:{m}")]));
    }
}

/// <summary>
/// Section <c>Identity:MaxPerType</c>; keys bind case-insensitively, so <c>email</c> sets <see cref="Email"/>.
/// A cap below 1 would make a profile that cannot hold the identifier it was found by.
/// </summary>
public sealed class MaxPerTypeOptions
{
    [Range(1, 100_000)]
    public int Email { get; set; } = 5;

    [Range(1, 100_000)]
    public int Phone { get; set; } = 5;

    [Range(1, 100_000)]
    public int Loyalty { get; set; } = 3;

    [Range(1, 100_000)]
    public int Device { get; set; } = 20;

    [Range(1, 100_000)]
    public int Social { get; set; } = 10;
}
