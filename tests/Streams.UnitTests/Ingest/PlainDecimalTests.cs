using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Streams.Ingest.Validation;

namespace Streams.UnitTests.Ingest;

public class PlainDecimalTests
{
    [Theory]
    [InlineData("0")]
    [InlineData("-0")]
    [InlineData("-0.0")]
    [InlineData("0.1")]
    [InlineData("0.3")]
    [InlineData("19.99")]
    [InlineData("-19.99")]
    [InlineData("100")]
    [InlineData("0.000000000000001")]
    [InlineData("999999999999999")]
    [InlineData("99999999999999.9")]
    [InlineData("9.99999999999999")]
    [InlineData("1234567890123456")] // 16 digits: the general parser
    [InlineData("0.1234567890123456")]
    [InlineData("1e3")]
    [InlineData("1.5E-7")]
    [InlineData("-2.5e+300")]
    [InlineData("1e400")]
    [InlineData("9007199254740993")]
    [InlineData("5.")] // not JSON, which the reader checked before: whatever the general parser makes of it
    [InlineData(".5")]
    [InlineData("+5")]
    public void TryParse_JsonNumbers_EqualTheGeneralParserBitForBit(string text) => AssertAsGeneralParser(text);

    [Fact]
    public void TryParse_RandomPlainDecimals_EqualTheGeneralParserBitForBit()
    {
        var random = new Random(17);
        for (var i = 0; i < 200_000; i++)
        {
            var whole = random.Next(0, 4) switch
            {
                0 => "0",
                1 => random.Next(1, 1000).ToString(CultureInfo.InvariantCulture),
                2 => random.NextInt64(1, 1_000_000_000_000).ToString(CultureInfo.InvariantCulture),
                _ => random.NextInt64(1, 999_999_999_999_999).ToString(CultureInfo.InvariantCulture),
            };
            var fraction = new StringBuilder();
            var fractionDigits = random.Next(0, 17);
            for (var d = 0; d < fractionDigits; d++)
            {
                fraction.Append((char)('0' + random.Next(10)));
            }

            var text = (random.Next(8) == 0 ? "-" : "") + whole + (fractionDigits > 0 ? "." + fraction : "");
            AssertAsGeneralParser(text);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData(".")]
    [InlineData("1.2.3")]
    [InlineData("12a")]
    [InlineData("--1")]
    public void TryParse_NotANumber_IsFalse(string text)
    {
        Assert.False(PlainDecimal.TryParse(Encoding.ASCII.GetBytes(text), out _));
    }

    private static void AssertAsGeneralParser(string text)
    {
        var utf8 = Encoding.ASCII.GetBytes(text);
        var expected = Utf8Parser.TryParse(utf8, out double reference, out var consumed) && consumed == utf8.Length;

        Assert.Equal(expected, PlainDecimal.TryParse(utf8, out var number));
        if (expected)
        {
            Assert.True(BitConverter.DoubleToInt64Bits(reference) == BitConverter.DoubleToInt64Bits(number),
                $"{text}: {number:R} against the general parser's {reference:R}");
        }
    }
}
