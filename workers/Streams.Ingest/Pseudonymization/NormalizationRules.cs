using PhoneNumbers;

namespace Streams.Ingest.Pseudonymization;

/// <summary>
/// The normalization rules of one version (CONTRACT §3). Only phone numbers differ between versions: v1 puts the
/// default region's calling code in front of any number without <c>+</c> or <c>00</c>; v2 parses the number with
/// libphonenumber in the default region, so a national prefix (<c>1 212…</c>, <c>020…</c>) is understood.
/// </summary>
public sealed record NormalizationRules
{
    public const int V1 = 1;

    /// <summary>The version new deployments use.</summary>
    public const int Latest = 2;

    private NormalizationRules(int version, string defaultRegion, string callingCode)
    {
        Version = version;
        DefaultRegion = defaultRegion;
        CallingCode = callingCode;
    }

    public int Version { get; }

    /// <summary>ISO 3166-1 alpha-2 region of numbers written without a country code (<c>US</c>, <c>GB</c>, …).</summary>
    public string DefaultRegion { get; }

    /// <summary>The calling code of <see cref="DefaultRegion"/> without <c>+</c>: what v1 puts in front of a national number.</summary>
    public string CallingCode { get; }

    /// <summary>The rules of <paramref name="version"/> for <paramref name="defaultRegion"/>.</summary>
    /// <exception cref="ArgumentException">The version is not 1 or 2, or libphonenumber does not know the region.</exception>
    public static NormalizationRules For(int version, string defaultRegion)
    {
        ArgumentNullException.ThrowIfNull(defaultRegion);
        if (version is not (V1 or Latest))
        {
            throw new ArgumentException($"Normalization version {version} does not exist (1 or 2).", nameof(version));
        }

        var region = defaultRegion.Trim().ToUpperInvariant();
        var callingCode = PhoneNumberUtil.GetInstance().GetCountryCodeForRegion(region);
        if (callingCode == 0)
        {
            throw new ArgumentException($"'{defaultRegion}' is not a region libphonenumber knows (an ISO 3166-1 alpha-2 code such as US).",
                nameof(defaultRegion));
        }

        return new NormalizationRules(version, region, callingCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The main region of a country calling code (<c>1</c> → <c>US</c>, <c>44</c> → <c>GB</c>); null when none.</summary>
    public static string? RegionOfCallingCode(string callingCode) =>
        int.TryParse(callingCode, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code)
        && PhoneNumberUtil.GetInstance().GetRegionCodeForCountryCode(code) is { } region && region != "ZZ" && region != "001"
            ? region
            : null;
}
