using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;

namespace Streams.Ingest.Quarantine;

/// <summary>
/// Masks for identifiers that could not be pseudonymized: a data steward sees the shape of what was wrong
/// (<c>j***@example</c>, <c>(***) ***-**77</c>) but never the value.
/// </summary>
public static class IdentifierMasker
{
    public const string FullMask = "***";

    /// <summary>Phones with fewer digits than this are masked completely: two clear digits would be most of the number.</summary>
    private const int MinDigitsToShowTail = 6;

    public static string Mask(IdentifierType type, string raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var value = raw.Trim();
        var mask = type switch
        {
            IdentifierType.Email => MaskEmail(value),
            IdentifierType.Phone => MaskPhone(value),
            _ => FullMask,
        };

        // Short inputs can survive any shape-keeping mask (a raw "x@y" inside "x***@y" does not, but "@example" would).
        return value.Length == 0 || mask.Contains(value, StringComparison.OrdinalIgnoreCase) ? FullMask : mask;
    }

    /// <summary>First character of the local part, <c>***</c>, then the domain without its top-level domain.</summary>
    private static string MaskEmail(string value)
    {
        var at = value.LastIndexOf('@');
        var local = at >= 0 ? value.AsSpan(0, at) : value;
        var head = local.Length > 1 ? local[..1] : [];
        if (at < 0)
        {
            return string.Concat(head, FullMask);
        }

        var domain = value.AsSpan(at + 1);
        var lastDot = domain.LastIndexOf('.');
        return string.Concat(head, FullMask + "@", lastDot > 0 ? domain[..lastDot] : domain);
    }

    /// <summary>Every digit and letter becomes <c>*</c> except the last two digits; separators keep the shape.</summary>
    private static string MaskPhone(string value)
    {
        var digits = value.Count(char.IsAsciiDigit);
        var keep = digits >= MinDigitsToShowTail ? 2 : 0;
        return string.Create(value.Length, (value, digits - keep), static (chars, state) =>
        {
            var (source, toMask) = state;
            for (var i = 0; i < chars.Length; i++)
            {
                var c = source[i];
                if (char.IsAsciiDigit(c))
                {
                    chars[i] = toMask-- > 0 ? '*' : c;
                }
                else
                {
                    chars[i] = c is '+' or '(' or ')' or '-' or '.' or '/' || char.IsWhiteSpace(c) ? c : '*';
                }
            }
        });
    }
}
