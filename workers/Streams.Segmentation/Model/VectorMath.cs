using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Streams.Segmentation.Model;

/// <summary>
/// The one distance everything uses. Sums run in four fixed lanes, added as (l0 + l1) + (l2 + l3), on the SIMD path
/// and the scalar path alike, so the result is bit-for-bit the same on every machine (with or without AVX): a restarted
/// worker on another host assigns exactly as the one before it.
/// </summary>
internal static class VectorMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SquaredDistance(ReadOnlySpan<double> a, ReadOnlySpan<double> b) =>
        Vector256.IsHardwareAccelerated ? SquaredDistanceSimd(a, b) : SquaredDistanceScalar(a, b);

    internal static double SquaredDistanceSimd(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        var n = a.Length;
        var acc = Vector256<double>.Zero;
        var i = 0;
        for (; i <= n - 4; i += 4)
        {
            var d = Vector256.LoadUnsafe(ref ra, (nuint)i) - Vector256.LoadUnsafe(ref rb, (nuint)i);
            acc += d * d;
        }

        var sum = acc.GetElement(0) + acc.GetElement(1) + (acc.GetElement(2) + acc.GetElement(3));
        for (; i < n; i++)
        {
            var d = Unsafe.Add(ref ra, i) - Unsafe.Add(ref rb, i);
            sum += d * d;
        }

        return sum;
    }

    internal static double SquaredDistanceScalar(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double l0 = 0, l1 = 0, l2 = 0, l3 = 0;
        var n = a.Length;
        var i = 0;
        for (; i <= n - 4; i += 4)
        {
            var d0 = a[i] - b[i];
            var d1 = a[i + 1] - b[i + 1];
            var d2 = a[i + 2] - b[i + 2];
            var d3 = a[i + 3] - b[i + 3];
            l0 += d0 * d0;
            l1 += d1 * d1;
            l2 += d2 * d2;
            l3 += d3 * d3;
        }

        var sum = l0 + l1 + (l2 + l3);
        for (; i < n; i++)
        {
            var d = a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }
}
