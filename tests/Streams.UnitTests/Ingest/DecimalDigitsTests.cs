using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Streams.Contracts.Canonical;

namespace Streams.UnitTests.Ingest;

/// <summary>
/// The canonical writer's own digits for counts, offsets and amounts, against .NET's formatting and the JSON writer:
/// whatever they write, consumers, digests and seals read as the writer's bytes.
/// </summary>
public sealed class DecimalDigitsTests
{
    [Fact]
    public void Write_EveryMagnitudeAndItsNeighbours_IsTheInvariantText()
    {
        List<ulong> values = [0, ulong.MaxValue, ulong.MaxValue - 1, (ulong)long.MaxValue, (ulong)long.MaxValue + 1];
        for (ulong power = 1; power <= 10_000_000_000_000_000_000; power *= 10)
        {
            values.AddRange([power - 1, power, power + 1, (power * 2) - 1]);
            if (power == 10_000_000_000_000_000_000)
            {
                break;
            }
        }

        var random = new Random(25);
        for (var i = 0; i < 100_000; i++)
        {
            values.Add((ulong)random.NextInt64() >> random.Next(0, 64));
        }

        var text = new byte[DecimalDigits.MaxLength];
        foreach (var value in values)
        {
            var written = DecimalDigits.Write(value, text);
            Assert.Equal(value.ToString(CultureInfo.InvariantCulture), Encoding.ASCII.GetString(text, 0, written));
            Assert.Equal(written, DecimalDigits.Count(value));
        }
    }

    [Fact]
    public void Write_IntoTooShortADestination_Throws_WithoutWritingPastIt()
    {
        var text = new byte[6];
        Assert.Throws<ArgumentException>(() => DecimalDigits.Write(12_345, text.AsSpan(0, 4)));
        Assert.Equal(new byte[6], text);
        Assert.Equal(5, DecimalDigits.Write(12_345, text.AsSpan(0, 5)));
    }

    [Fact]
    public void WriteDecimals_EveryFractionOfTenThousandths_IsItsDigitsWithoutTrailingZeros()
    {
        var text = new byte[4];
        for (var fraction = 1; fraction < 10_000; fraction++)
        {
            var written = DecimalDigits.WriteDecimals(fraction, text);
            var expected = (fraction / 10_000m).ToString(CultureInfo.InvariantCulture)[2..];
            Assert.Equal(expected, Encoding.ASCII.GetString(text, 0, written));
        }
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(7L)]
    [InlineData(-1L)]
    [InlineData(-10L)]
    [InlineData(99L)]
    [InlineData(-100L)]
    [InlineData(9_007_199_254_740_991L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    [InlineData(long.MinValue + 1)]
    public void JsonBytesNumber_IsTheWritersBytes(long value)
    {
        var name = CanonicalNames.Offset;
        var json = JsonBytes.Rent();
        json.StartObject();
        json.Number(name, value);
        json.Number(name, 1);
        json.EndObject();

        var expected = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(expected))
        {
            writer.WriteStartObject();
            writer.WriteNumber(name, value);
            writer.WriteNumber(name, 1);
            writer.WriteEndObject();
        }

        Assert.Equal(Encoding.UTF8.GetString(expected.WrittenSpan), Encoding.UTF8.GetString(json.ToArray()));
    }
}
