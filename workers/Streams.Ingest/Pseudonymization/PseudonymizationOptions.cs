namespace Streams.Ingest.Pseudonymization;

/// <summary>Configuration section <c>Pseudonymization</c> (CONTRACT §3, README "Rotating the pseudonymization key").</summary>
public sealed class PseudonymizationOptions
{
    public const string SectionName = "Pseudonymization";

    /// <summary>
    /// Key id → base64 secret (at least 16 bytes). The active key makes pseudonyms, the previous one is linked to them
    /// during a rotation window, and every listed key is searched by consent, erasure and <c>whois</c>.
    /// </summary>
    public Dictionary<string, string> Keys { get; } = new(StringComparer.Ordinal);

    /// <summary>The key id used for new pseudonyms; it is the pseudonym's prefix.</summary>
    public string ActiveKeyId { get; set; } = "";

    /// <summary>The normalization version new pseudonyms are made with (1 or 2). Default 2.</summary>
    public int NormalizationVersion { get; set; } = NormalizationRules.Latest;

    /// <summary>
    /// The key id of the pseudonyms being replaced, during a rotation window: each identifier's pseudonym under the
    /// active key and version is linked to its pseudonym under this key and <see cref="PreviousNormalizationVersion"/>.
    /// May equal <see cref="ActiveKeyId"/> when only the normalization version changes. Unset outside a window.
    /// </summary>
    public string? PreviousKeyId { get; set; }

    /// <summary>The normalization version of <see cref="PreviousKeyId"/>'s pseudonyms. Default 2.</summary>
    public int PreviousNormalizationVersion { get; set; } = NormalizationRules.Latest;

    /// <summary>Region (ISO 3166-1 alpha-2) of phone numbers written without <c>+</c> or <c>00</c>. Default <c>US</c>.</summary>
    public string? DefaultRegion { get; set; }

    /// <summary>
    /// Deprecated: the country calling code of numbers without <c>+</c> or <c>00</c>. Still accepted: it stands for the
    /// main region of that code (<c>44</c> → <c>GB</c>) when <see cref="DefaultRegion"/> is unset, and must agree with it otherwise.
    /// </summary>
    public string? DefaultCountryCode { get; set; }

    /// <summary>The default region in effect: <see cref="DefaultRegion"/>, else that of <see cref="DefaultCountryCode"/>, else <c>US</c>.</summary>
    public string EffectiveRegion() =>
        !string.IsNullOrWhiteSpace(DefaultRegion) ? DefaultRegion.Trim().ToUpperInvariant()
        : !string.IsNullOrWhiteSpace(DefaultCountryCode) ? NormalizationRules.RegionOfCallingCode(DefaultCountryCode.Trim()) ?? ""
        : "US";
}
