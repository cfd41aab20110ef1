using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Streams.Contracts.Canonical;

/// <summary>
/// The decimal digits of an unsigned integer, two at a time from a table: the counts, offsets and amounts of a canonical
/// event are small numbers, and the general formatter's layers (a format to check, a sign, a length to report through
/// each) cost more than their digits.
/// </summary>
internal static class DecimalDigits
{
    /// <summary>The most digits a <see cref="ulong"/> has.</summary>
    public const int MaxLength = 20;

    /// <summary>"00" to "99".</summary>
    private static ReadOnlySpan<byte> Pairs =>
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"u8;

    private static ReadOnlySpan<ulong> PowersOfTen =>
    [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000,
        100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000,
        10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
    ];

    /// <summary>How many digits <paramref name="value"/> has (1 for zero).</summary>
    public static int Count(ulong value)
    {
        // log10 from log2 (1233 / 4096 ≈ log10 2), then one comparison corrects it.
        var estimate = ((64 - BitOperations.LeadingZeroCount(value | 1)) * 1233) >> 12;
        return Math.Max(1, estimate + (value >= PowersOfTen[estimate] ? 1 : 0));
    }

    /// <summary>Writes <paramref name="value"/>'s digits at the start of <paramref name="destination"/>: how many.</summary>
    /// <exception cref="ArgumentException">The destination is shorter than the digits.</exception>
    public static int Write(ulong value, Span<byte> destination)
    {
        var count = Count(value);
        if (destination.Length < count)
        {
            throw new ArgumentException("The destination is shorter than the number's digits.", nameof(destination));
        }

        // Checked above: every write below is inside the first count bytes.
        ref var last = ref Unsafe.Add(ref MemoryMarshal.GetReference(destination), count - 1);
        ref var pairs = ref MemoryMarshal.GetReference(Pairs);
        var offset = 0;
        while (value >= 100)
        {
            var pair = (int)(value % 100) * 2;
            value /= 100;
            Unsafe.Add(ref last, -offset) = Unsafe.Add(ref pairs, pair + 1);
            Unsafe.Add(ref last, -offset - 1) = Unsafe.Add(ref pairs, pair);
            offset += 2;
        }

        if (value >= 10)
        {
            var pair = (int)value * 2;
            Unsafe.Add(ref last, -offset) = Unsafe.Add(ref pairs, pair + 1);
            Unsafe.Add(ref last, -offset - 1) = Unsafe.Add(ref pairs, pair);
        }
        else
        {
            Unsafe.Add(ref last, -offset) = (byte)('0' + (int)value);
        }

        return count;
    }

    /// <summary>
    /// Writes the four decimals of <paramref name="tenThousandths"/> (1–9999) without their trailing zeros at the start
    /// of <paramref name="destination"/> (at least 4 bytes): how many.
    /// </summary>
    public static int WriteDecimals(int tenThousandths, Span<byte> destination)
    {
        var high = tenThousandths / 100 * 2;
        var low = tenThousandths % 100 * 2;
        var pairs = Pairs;
        destination[3] = pairs[low + 1];
        destination[2] = pairs[low];
        destination[1] = pairs[high + 1];
        destination[0] = pairs[high];
        return low != 0
            ? (pairs[low + 1] == (byte)'0' ? 3 : 4)
            : (pairs[high + 1] == (byte)'0' ? 1 : 2);
    }
}
