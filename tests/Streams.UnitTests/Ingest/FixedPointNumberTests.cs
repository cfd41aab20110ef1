using System.Buffers;
using System.Text;
using System.Text.Json;
using Streams.Contracts.Canonical;

namespace Streams.UnitTests.Ingest;

/// <summary>
/// The canonical writer's fast path for amounts against <see cref="Utf8JsonWriter.WriteNumberValue(double)"/>: whatever it
/// takes must be the writer's bytes, because digests, seals and consumers read them.
/// </summary>
public sealed class FixedPointNumberTests
{
    [Fact]
    public void RandomAmounts_AreTheWritersBytes_AndTakeTheFastPath()
    {
        var random = new Random(23);
        var taken = 0;
        for (var i = 0; i < 400_000; i++)
        {
            // Whole ten-thousandths (money rounded to four places) at every magnitude up to and past the limit.
            var units = (long)(random.NextDouble() * Math.Pow(10, random.Next(0, 17)));
            var value = (random.Next(2) == 0 ? 1 : -1) * (random.Next(3) == 0 ? Math.Round(units / 10_000.0, 4) : units / 10_000.0);
            taken += Check(value) ? 1 : 0;
        }

        // Most of them are amounts the fast path must take, or the test would compare nothing.
        Assert.True(taken > 300_000, $"only {taken} took the fast path");
    }

    [Fact]
    public void RandomDoubles_OfAnyKind_AreTheWritersBytesOrLeftToIt()
    {
        var random = new Random(24);
        Span<byte> bits = stackalloc byte[8];
        for (var i = 0; i < 200_000; i++)
        {
            random.NextBytes(bits);
            var value = i % 2 == 0 ? BitConverter.ToDouble(bits) : random.NextDouble() * Math.Pow(10, random.Next(-8, 14));
            if (double.IsFinite(value))
            {
                Check(value);
            }
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.0001)]
    [InlineData(0.00005)]
    [InlineData(0.00001)]
    [InlineData(1e-7)]
    [InlineData(0.1)]
    [InlineData(0.3)]
    [InlineData(0.1 + 0.2)]
    [InlineData(1.0 / 3)]
    [InlineData(59.9)]
    [InlineData(103.45)]
    [InlineData(-1.0)]
    [InlineData(-0.25)]
    [InlineData(100.0)]
    [InlineData(1e10)]
    [InlineData(99_999_999_999.9999)]
    [InlineData(1e11)]
    [InlineData(1e11 - 0.5)]
    [InlineData(123_456_789_012_345.0)]
    [InlineData(1e15)]
    [InlineData(1e16)]
    [InlineData(9_007_199_254_740_993.0)]
    [InlineData(double.MaxValue)]
    [InlineData(double.Epsilon)]
    public void Edges_AreTheWritersBytesOrLeftToIt(double value) => Check(value);

    [Fact]
    public void NegativeZero_IsLeftToTheWriter() =>
        Assert.False(FixedPointNumber.TryFormat(-0.0, new byte[FixedPointNumber.MaxLength], out _));

    [Fact]
    public void NotANumber_IsLeftToTheWriter() =>
        Assert.False(FixedPointNumber.TryFormat(double.NaN, new byte[FixedPointNumber.MaxLength], out _));

    /// <summary>True when the fast path took <paramref name="value"/>; its bytes must then be the writer's.</summary>
    private static bool Check(double value)
    {
        var text = new byte[FixedPointNumber.MaxLength];
        if (!FixedPointNumber.TryFormat(value, text, out var length))
        {
            return false;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteNumberValue(value);
        }

        Assert.Equal(Encoding.UTF8.GetString(buffer.WrittenSpan), Encoding.UTF8.GetString(text, 0, length));
        return true;
    }
}
