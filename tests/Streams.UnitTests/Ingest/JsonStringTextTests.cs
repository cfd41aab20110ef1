using System.Text;
using System.Text.Json;
using Streams.Ingest.Validation;

namespace Streams.UnitTests.Ingest;

/// <summary><see cref="JsonStringText"/> is held to the reader it replaces: the same text, refused for the same strings.</summary>
public class JsonStringTextTests
{
    /// <summary>Pieces of JSON string contents, each valid on its own as far as the reader's syntax check goes.</summary>
    private static readonly string[] Pieces =
    [
        "a", "Z", "0", " ", "+", "@", "é", "ß", "Ł", "中", "😀",
        "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
        "\\u0041", "\\u002B", "\\u002b", "\\u00e9", "\\u00E9", "\\u4E2D", "\\u0000", "\\u001f", "\\uFFFF", "\\uFEFF",
        "\\uD83D\\uDE00", "\\udbff\\udfff", "\\uD800\\uDC00",
        "\\uD83D", "\\uDE00", "\\uDBFF", "\\uDC00", // lone halves
    ];

    [Theory]
    [InlineData("")]
    [InlineData("plain")]
    [InlineData("\\u00e9t\\u00e9")]
    [InlineData("\\uD83D\\uDE00")]
    [InlineData("\\uD83D")]
    [InlineData("\\uDE00")]
    [InlineData("\\uD83Dx")]
    [InlineData("\\uD83D\\n")]
    [InlineData("\\uD83D\\uD83D")]
    [InlineData("\\uD83D\\uDE00\\uDE00")]
    [InlineData("a\\uD83D")]
    [InlineData("\\\\uD83D")]
    public void TryDecode_EqualsTheReader(string contents) => AssertAsReader(contents);

    [Fact]
    public void TryDecode_RandomContents_EqualsTheReader()
    {
        var random = new Random(29);
        for (var i = 0; i < 100_000; i++)
        {
            var contents = new StringBuilder();
            var pieces = random.Next(0, 12);
            for (var p = 0; p < pieces; p++)
            {
                contents.Append(Pieces[random.Next(Pieces.Length)]);
            }

            AssertAsReader(contents.ToString());
        }
    }

    [Fact]
    public void TryDecode_ShortDestination_IsRefusedNotTruncated()
    {
        var contents = "ab\\u00e9\\uD83D\\uDE00"u8;
        for (var size = 0; size < 5; size++)
        {
            Assert.False(JsonStringText.TryDecode(contents, new char[size], out var written));
            Assert.Equal(0, written);
        }

        var buffer = new char[5];
        Assert.True(JsonStringText.TryDecode(contents, buffer, out var all));
        Assert.Equal("abé😀", new string(buffer, 0, all));
    }

    [Theory]
    [InlineData("\\")]
    [InlineData("\\x")]
    [InlineData("\\u12")]
    [InlineData("\\u12G4")]
    [InlineData("\\u+123")]
    [InlineData("\\uD83D\\u12")]
    public void TryDecode_MalformedEscape_IsRefusedAndNotCounted(string contents)
    {
        var utf8 = Encoding.UTF8.GetBytes(contents);
        Assert.False(JsonStringText.TryDecode(utf8, new char[utf8.Length], out _));
        Assert.False(JsonStringText.TryCountCodePoints(utf8, out _));
    }

    private static void AssertAsReader(string contents)
    {
        var raw = Encoding.UTF8.GetBytes($"\"{contents}\"");
        string? expected;
        var reader = new Utf8JsonReader(raw);
        Assert.True(reader.Read(), contents);
        try
        {
            expected = reader.GetString();
        }
        catch (InvalidOperationException)
        {
            expected = null;
        }

        var inner = raw.AsSpan(1, raw.Length - 2);
        var buffer = new char[inner.Length];
        var decoded = JsonStringText.TryDecode(inner, buffer, out var written);
        Assert.True(decoded == (expected is not null), $"{contents}: decoded {decoded}, reader {expected is not null}");
        var counted = JsonStringText.TryCountCodePoints(inner, out var codePoints);
        Assert.Equal(decoded, counted);
        if (expected is not null)
        {
            Assert.Equal(expected, new string(buffer, 0, written));
            Assert.Equal(expected.EnumerateRunes().Count(), codePoints);
        }
    }
}
