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

    private const ulong Scale = 10_000;
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

        var units = (ulong)scaled;
        if (value < 0)
        {
            destination[written++] = (byte)'-';
        }

        var whole = units / Scale;
        written += DecimalDigits.Write(whole, destination[written..]);
        var fraction = (int)(units - (whole * Scale));
        if (fraction == 0)
        {
            return true;
        }

        destination[written++] = (byte)'.';
        written += DecimalDigits.WriteDecimals(fraction, destination[written..]);
        return true;
    }
}
