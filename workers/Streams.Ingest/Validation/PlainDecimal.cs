using System.Buffers.Text;

namespace Streams.Ingest.Validation;

/// <summary>
/// The double of a JSON number's text, with the common shape (a price, a quantity: at most 15 digits, a point, no
/// exponent) read without the general parser.
/// </summary>
/// <remarks>
/// Such a number is an integer of at most 15 digits divided by a power of ten of at most 15; both are exact doubles,
/// and IEEE division rounds correctly, so the quotient is the double nearest the decimal: what the general,
/// correctly rounding parser (<see cref="Utf8Parser"/>) gives, bit for bit. Clinger's fast path, as parsers use it.
/// Anything else (more digits, an exponent) goes to that parser.
/// </remarks>
internal static class PlainDecimal
{
    private const int MaxDigits = 15;

    private static ReadOnlySpan<double> PowersOfTen =>
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>The number <paramref name="text"/> (the whole of it) as a double; false when it is not one or does not fit.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out double number)
    {
        if (TryParseShort(text, out number))
        {
            return true;
        }

        return Utf8Parser.TryParse(text, out number, out var consumed) && consumed == text.Length;
    }

    private static bool TryParseShort(ReadOnlySpan<byte> text, out double number)
    {
        number = 0;
        var negative = !text.IsEmpty && text[0] == (byte)'-';
        ulong mantissa = 0;
        var digits = 0;
        var fractionDigits = -1;
        for (var i = negative ? 1 : 0; i < text.Length; i++)
        {
            var digit = (uint)(text[i] - '0');
            if (digit <= 9)
            {
                if (++digits > MaxDigits)
                {
                    return false;
                }

                mantissa = (mantissa * 10) + digit;
                fractionDigits += fractionDigits >= 0 ? 1 : 0;
            }
            else if (text[i] == (byte)'.' && fractionDigits < 0 && digits > 0)
            {
                fractionDigits = 0;
            }
            else
            {
                return false;
            }
        }

        // "5." and "." are not numbers; leave every odd shape to the general parser's verdict.
        if (digits == 0 || fractionDigits == 0)
        {
            return false;
        }

        var value = (double)mantissa / PowersOfTen[Math.Max(fractionDigits, 0)];
        number = negative ? -value : value;
        return true;
    }
}
