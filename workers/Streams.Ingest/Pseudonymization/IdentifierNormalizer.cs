using System.Diagnostics.CodeAnalysis;
using PhoneNumbers;
using Streams.Contracts.Identifiers;

namespace Streams.Ingest.Pseudonymization;

/// <summary>
/// Normalizes raw identifiers as CONTRACT §3 specifies, so the same person gets the same pseudonym whichever
/// channel wrote the value. Pure; the span overloads write into a caller's buffer so the hot path does not allocate.
/// </summary>
public static class IdentifierNormalizer
{
    /// <summary>RFC 5321's limit on a forward path; longer values are junk, not addresses.</summary>
    public const int MaxEmailLength = 254;

    /// <summary>The fewest digits, country code included, of a v1 phone number.</summary>
    public const int MinPhoneDigits = 8;

    /// <summary>E.164 allows at most 15 digits including the country code.</summary>
    public const int MaxPhoneDigits = 15;

    /// <summary>The social platforms of CONTRACT §2.4, which are also the prefix of a social identifier.</summary>
    public static IReadOnlyList<string> SocialPlatforms { get; } = ["twitter", "instagram", "facebook", "tiktok", "reddit"];

    /// <summary>A destination of this many chars is always large enough for <paramref name="rawLength"/> input chars.</summary>
    public static int MaxNormalizedLength(IdentifierType type, int rawLength) => type switch
    {
        IdentifierType.Phone => 1 + MaxPhoneDigits,
        IdentifierType.Social => rawLength + 16, // the event form adds "platform:" in front of the handle
        _ => rawLength,
    };

    /// <summary>Normalizes <paramref name="raw"/>; for <see cref="IdentifierType.Social"/> it is <c>platform:handle</c>.</summary>
    public static bool TryNormalize(
        IdentifierType type, ReadOnlySpan<char> raw, NormalizationRules rules, Span<char> destination, out int written)
    {
        ArgumentNullException.ThrowIfNull(rules);
        switch (type)
        {
            case IdentifierType.Email:
                return TryNormalizeEmail(raw, destination, out written);
            case IdentifierType.Phone:
                return rules.Version == NormalizationRules.V1
                    ? TryNormalizePhoneV1(raw, rules.CallingCode, destination, out written)
                    : TryNormalizePhone(raw, rules.DefaultRegion, destination, out written);
            case IdentifierType.Loyalty:
                return TryNormalizeTrimmed(raw, upperCase: true, destination, out written);
            case IdentifierType.Device:
                return TryNormalizeTrimmed(raw, upperCase: false, destination, out written);
            case IdentifierType.Social:
                var colon = raw.IndexOf(':');
                written = 0;
                return colon >= 0 && TryNormalizeSocial(raw[..colon], raw[(colon + 1)..], destination, out written);
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }

    /// <summary>Allocating convenience over the span overload, for tests and cold paths.</summary>
    public static bool TryNormalize(
        IdentifierType type, string raw, NormalizationRules rules, [NotNullWhen(true)] out string? normalized)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var buffer = new char[MaxNormalizedLength(type, raw.Length)];
        normalized = TryNormalize(type, raw, rules, buffer, out var written) ? new string(buffer, 0, written) : null;
        return normalized is not null;
    }

    /// <summary>Trimmed and lower-cased; valid with one <c>@</c>, a non-empty local part and a dotted domain, no white space.</summary>
    public static bool TryNormalizeEmail(ReadOnlySpan<char> raw, Span<char> destination, out int written)
    {
        written = 0;
        var value = raw.Trim();
        if (value.Length is 0 or > MaxEmailLength)
        {
            return false;
        }

        // Printable ASCII is neither white space nor a control character, and lower-cases byte for byte: the usual
        // address takes one pass instead of a search per rule.
        var other = value.IndexOfAnyExceptInRange('!', '~');
        if (other < 0)
        {
            return TryNormalizeAsciiEmail(value, destination, out written);
        }

        var at = value.IndexOf('@');
        if (at <= 0 || value.LastIndexOf('@') != at)
        {
            return false;
        }

        var domain = value[(at + 1)..];
        if (domain.Length < 3 || domain[0] == '.' || domain[^1] == '.' || !domain.Contains('.') || domain.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        // Only from the first character outside printable ASCII on is each one looked up.
        foreach (var c in value[other..])
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return false;
            }
        }

        // Unicode is allowed (zoë@exämple.de); invariant simple case mapping keeps the length unchanged.
        written = value.ToLowerInvariant(destination);
        return written == value.Length;
    }

    /// <summary>
    /// <see cref="TryNormalizeEmail"/>'s rules for a trimmed address of printable ASCII only, in one pass: one '@' with
    /// something before it; a domain of at least 3 characters with a dot, neither starting nor ending with one, and no
    /// two in a row.
    /// </summary>
    private static bool TryNormalizeAsciiEmail(ReadOnlySpan<char> value, Span<char> destination, out int written)
    {
        written = 0;
        if (destination.Length < value.Length)
        {
            return false;
        }

        var at = -1;
        var dotted = false;
        var previous = '\0';
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '@')
            {
                if (at >= 0)
                {
                    return false;
                }

                at = i;
            }
            else if (c == '.' && at >= 0)
            {
                if (previous is '.' or '@')
                {
                    return false;
                }

                dotted = true;
            }

            destination[i] = char.IsAsciiLetterUpper(c) ? (char)(c | 0x20) : c;
            previous = c;
        }

        if (at <= 0 || value.Length - at - 1 < 3 || !dotted || previous == '.')
        {
            return false;
        }

        written = value.Length;
        return true;
    }

    /// <summary>
    /// Normalization v2 (CONTRACT §3): E.164 as libphonenumber parses the number in <paramref name="defaultRegion"/>,
    /// so a national prefix is understood (<c>1 212 555 0100</c> and <c>+1 212 555 0100</c> are one number). The
    /// characters allowed and the leading <c>00</c> are v1's; the number is valid when libphonenumber finds it possible
    /// (a known country code and a length its plan allows), not when it is assigned: a numbering-plan change must never
    /// turn a customer's number invalid. Common shapes take <see cref="PhoneNumberFastPath"/>, which gives the same
    /// result without libphonenumber's allocations; every other number is parsed by libphonenumber.
    /// </summary>
    public static bool TryNormalizePhone(ReadOnlySpan<char> raw, string defaultRegion, Span<char> destination, out int written) =>
        TryNormalizePhone(raw, defaultRegion, fastPath: true, destination, out written);

    /// <summary>Version 2 with or without <see cref="PhoneNumberFastPath"/>; without, it is the reference the fast path
    /// must equal.</summary>
    internal static bool TryNormalizePhone(
        ReadOnlySpan<char> raw, string defaultRegion, bool fastPath, Span<char> destination, out int written)
    {
        written = 0;
        Span<char> text = stackalloc char[1 + MaxPhoneDigits + 2];
        if (!TryCompactPhone(raw, text[1..], out var international, out var count))
        {
            return false;
        }

        if (fastPath && PhoneNumberFastPath.TryFormat(text.Slice(1, count), international, defaultRegion, destination, out written))
        {
            return true;
        }

        text[0] = '+';
        var candidate = international ? text[..(count + 1)] : text[1..(count + 1)];
        var util = PhoneNumberUtil.GetInstance();
        PhoneNumber number;
        try
        {
            number = util.Parse(new string(candidate), defaultRegion);
        }
        catch (NumberParseException)
        {
            return false;
        }

        if (util.IsPossibleNumberWithReason(number) != PhoneNumberUtil.ValidationResult.IS_POSSIBLE)
        {
            return false;
        }

        var e164 = util.Format(number, PhoneNumberFormat.E164);
        if (e164.Length > destination.Length)
        {
            return false;
        }

        e164.CopyTo(destination);
        written = e164.Length;
        return true;
    }

    /// <summary>
    /// Normalization v1, kept so that pseudonyms made before v2 can be linked during a rotation window: <c>+</c> and
    /// digits only. A leading <c>+</c> or <c>00</c> marks an international number; otherwise the default country code
    /// is put in front. Separators (white space, <c>-</c>, <c>.</c>, <c>/</c>, parentheses) are dropped; any other
    /// character makes the number invalid, as does a country code starting with 0 or a total outside 8–15 digits.
    /// </summary>
    public static bool TryNormalizePhoneV1(ReadOnlySpan<char> raw, ReadOnlySpan<char> defaultCountryCode, Span<char> destination, out int written)
    {
        written = 0;
        Span<char> digits = stackalloc char[MaxPhoneDigits + 2];
        if (!TryCompactPhone(raw, digits, out var international, out var count))
        {
            return false;
        }

        var number = digits[..count];
        ReadOnlySpan<char> prefix = international ? [] : defaultCountryCode;
        var total = prefix.Length + number.Length;
        if (total is < MinPhoneDigits or > MaxPhoneDigits || (international && number[0] == '0'))
        {
            return false;
        }

        destination[0] = '+';
        prefix.CopyTo(destination[1..]);
        number.CopyTo(destination[(1 + prefix.Length)..]);
        written = 1 + total;
        return true;
    }

    /// <summary>
    /// The digits of a phone number, and whether it is international: a leading <c>+</c>, or <c>00</c> (removed).
    /// Separators are dropped; any other character, or more digits than <paramref name="digits"/> holds, fails.
    /// </summary>
    internal static bool TryCompactPhone(ReadOnlySpan<char> raw, Span<char> digits, out bool international, out int count)
    {
        count = 0;
        var value = raw.Trim();
        international = value.StartsWith('+');
        if (international)
        {
            value = value[1..];
        }

        foreach (var c in value)
        {
            if (char.IsAsciiDigit(c))
            {
                if (count == digits.Length)
                {
                    return false;
                }

                digits[count++] = c;
            }
            else if (!(char.IsWhiteSpace(c) || c is '-' or '.' or '/' or '(' or ')'))
            {
                return false;
            }
        }

        if (!international && digits[..count].StartsWith("00"))
        {
            international = true;
            digits[..count][2..].CopyTo(digits);
            count -= 2;
        }

        return count > 0;
    }

    /// <summary><c>platform:handle</c> lower-cased, the handle trimmed and stripped of one leading <c>@</c>.</summary>
    /// <remarks>Valid when the platform is one of <see cref="SocialPlatforms"/> (exactly, lower case) and the handle
    /// has a character other than white space and <c>@</c> (schema pattern <c>[^\s@]</c>).</remarks>
    public static bool TryNormalizeSocial(ReadOnlySpan<char> platform, ReadOnlySpan<char> handle, Span<char> destination, out int written)
    {
        written = 0;
        if (!IsSocialPlatform(platform))
        {
            return false;
        }

        handle = handle.Trim();
        if (handle.StartsWith('@'))
        {
            handle = handle[1..];
        }

        if (!HasCharacterOtherThanWhiteSpaceOrAt(handle))
        {
            return false;
        }

        platform.CopyTo(destination);
        destination[platform.Length] = ':';
        var handleLength = handle.ToLowerInvariant(destination[(platform.Length + 1)..]);
        written = platform.Length + 1 + handleLength;
        return handleLength == handle.Length;
    }

    public static bool IsSocialPlatform(ReadOnlySpan<char> platform)
    {
        foreach (var known in SocialPlatforms)
        {
            if (platform.SequenceEqual(known))
            {
                return true;
            }
        }

        return false;
    }

    internal static bool HasCharacterOtherThanWhiteSpaceOrAt(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (!char.IsWhiteSpace(c) && c != '@')
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Loyalty ids (upper-cased) and device ids are only trimmed; blank ones are invalid.</summary>
    private static bool TryNormalizeTrimmed(ReadOnlySpan<char> raw, bool upperCase, Span<char> destination, out int written)
    {
        var value = raw.Trim();
        if (value.IsEmpty)
        {
            written = 0;
            return false;
        }

        if (upperCase)
        {
            written = value.ToUpperInvariant(destination);
            return written == value.Length;
        }

        value.CopyTo(destination);
        written = value.Length;
        return true;
    }
}
