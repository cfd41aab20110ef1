using System.Buffers.Text;

namespace Streams.Contracts.Canonical;

/// <summary>
/// The JSON text of a double that is a whole number of ten-thousandths of magnitude below 10^11 (every amount ingest
/// writes: money rounded to four places, percentages, sentiments, revenue), without the general shortest-round-trip
/// search <see cref="System.Text.Json.Utf8JsonWriter"/> runs for every double. The text is the writer's, byte for byte
/// (tests compare both on random values); any other double is left to the writer.
/// </summary>
/// <remarks>
/// Why the digits are the shortest round-trip ones: <c>n / 10^4</c> of two exact integers is the double nearest that
/// decimal, so when it equals the value, the decimal parses back to it. Any other decimal with as few significant digits
/// is another multiple of 10^-4, at least 10^-4 away, while below 10^11 the value's ulp is under 2·10^-5, so no other
/// such decimal parses to the same double. In this range .NET writes positional notation, never an exponent.
/// </remarks>
internal static class FixedPointNumber
{
    /// <summary>Sign, 11 integer digits, the point and 4 decimals.</summary>
    public const int MaxLength = 17;

    private const long Scale = 10_000;
    private const double Limit = 1e11;

    public static bool TryFormat(double value, Span<byte> destination, out int written)
    {
        written = 0;
        var magnitude = Math.Abs(value);
        // NaN fails the comparison; −0 is written "-0" by the writer and is left to it.
        if (!(magnitude < Limit) || (value == 0 && double.IsNegative(value)) || destination.Length < MaxLength)
        {
            return false;
        }

        var scaled = Math.Round(magnitude * Scale);
        if (scaled / Scale != magnitude)
        {
            return false;
        }

        var units = (long)scaled;
        if (value < 0)
        {
            destination[written++] = (byte)'-';
        }

        Utf8Formatter.TryFormat(units / Scale, destination[written..], out var whole);
        written += whole;
        var fraction = units % Scale;
        if (fraction == 0)
        {
            return true;
        }

        // Four digits with their leading zeros, less the trailing ones: by hand, as a format string is parsed per call.
        destination[written++] = (byte)'.';
        var digits = destination.Slice(written, 4);
        digits[3] = (byte)('0' + (fraction % 10));
        digits[2] = (byte)('0' + (fraction / 10 % 10));
        digits[1] = (byte)('0' + (fraction / 100 % 10));
        digits[0] = (byte)('0' + (fraction / 1000));
        var decimals = 4;
        while (digits[decimals - 1] == (byte)'0')
        {
            decimals--;
        }

        written += decimals;
        return true;
    }
}
