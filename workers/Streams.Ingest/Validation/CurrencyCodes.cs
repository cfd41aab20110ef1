using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Streams.Ingest.Validation;

/// <summary>
/// ISO 4217 list one (currencies and funds in use), as amended up to 2026: HRK, SLL, ZWL, ANG and BGN have been
/// replaced (EUR, SLE, ZWG, XCG, EUR) and are not accepted. XTS (testing) and XXX (no currency) are not payments.
/// Membership is case-sensitive: ISO codes are upper case and <c>usd</c> is not one.
/// </summary>
internal static class CurrencyCodes
{
    private static readonly FrozenSet<string> Active = FrozenSet.Create(StringComparer.Ordinal,
    [
        "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BHD", "BIF", "BMD", "BND",
        "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY",
        "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP",
        "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD",
        "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP",
        "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN",
        "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN",
        "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD",
        "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX",
        "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB",
        "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF", "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
    ]);

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> ActiveBySpan =
        Active.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The length of every ISO 4217 code.</summary>
    public const int Length = 3;

    public static bool IsActive(string code) => Active.Contains(code);

    /// <summary>The set's own instance of <paramref name="code"/> when it is active, so a caller need not allocate one.</summary>
    public static bool TryGetActive(ReadOnlySpan<char> code, [NotNullWhen(true)] out string? active) =>
        ActiveBySpan.TryGetValue(code, out active);
}
