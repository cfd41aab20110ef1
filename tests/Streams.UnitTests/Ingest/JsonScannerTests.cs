using System.Text;
using System.Text.Json;
using Streams.Ingest.Validation;

namespace Streams.UnitTests.Ingest;

/// <summary>
/// The field index's own scan is held to <see cref="Utf8JsonReader"/>: a scalar value is taken exactly when the reader
/// takes it, and no record the reader refuses is ever indexed (which would let malformed JSON skip the thorough parse).
/// </summary>
public class JsonScannerTests
{
    private static readonly FieldTable OneField = new("a", "b");

    private const string MutationBytes = "{}[],:\"\\ 0e.-tnu";

    private static readonly string[] ScalarPieces =
    [
        "-", "+", "0", "1", "7", "9", ".", "e", "E", "x", " ", "\t", "\n", "\u000b", "\"", "\\", "\\\"", "\\\\", "\\/", "\\b", "\\n", "\\t",
        "\\u", "\\u00", "\\u00e9", "\\u00E9", "\\u00g9", "\\uD83D", "\\uDE00", "\\x", "\\'", "é", "😀", "\u0001", "\u001f", "\u007f", "a", "/",
        "true", "tru", "false", "fals", "null", "nul", "NaN", "Infinity", ",", "}", "]", ":", "{", "[",
    ];

    [Theory]
    [InlineData("0")]
    [InlineData("-0")]
    [InlineData("-0.5e-3")]
    [InlineData("12.50")]
    [InlineData("1E+9")]
    [InlineData("1e400")]
    [InlineData("01")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData("-")]
    [InlineData("+1")]
    [InlineData("1e")]
    [InlineData("1e+")]
    [InlineData("\"\"")]
    [InlineData("\"caf\\u00e9\"")]
    [InlineData("\"\\ud800\"")]
    [InlineData("\"\\u12\"")]
    [InlineData("\"\\a\"")]
    [InlineData("\"tab\there\"")]
    [InlineData("\"unterminated")]
    [InlineData("true")]
    [InlineData("truex")]
    [InlineData("nul")]
    [InlineData("false ")]
    [InlineData(" null")]
    [InlineData("")]
    public void Scalar_IsTakenExactlyWhenTheReaderTakesIt(string value) => AssertScalarAsReader(value);

    [Fact]
    public void RandomScalars_AreTakenExactlyWhenTheReaderTakesThem()
    {
        var random = new Random(31);
        for (var i = 0; i < 100_000; i++)
        {
            var value = new StringBuilder();
            if (random.Next(2) == 0)
            {
                value.Append('"');
            }

            var pieces = random.Next(1, 6);
            for (var p = 0; p < pieces; p++)
            {
                value.Append(ScalarPieces[random.Next(ScalarPieces.Length)]);
            }

            if (value[0] == '"' && random.Next(3) != 0)
            {
                value.Append('"');
            }

            AssertScalarAsReader(value.ToString());
        }
    }

    /// <summary>
    /// A string's end is searched for 32 bytes at a time, the last block overlapping the one before it: a quote, an
    /// escape or a control character at every position of strings around those lengths is taken as the reader takes it.
    /// </summary>
    [Fact]
    public void StringsOfEveryLength_WithAStopAtEveryPosition_AreTakenExactlyWhenTheReaderTakesThem()
    {
        string[] stops = ["\"", "\\n", "\\u00e9", "\\x", "\\", "\u0000", "\u0001", "\u001f", "\t", "\u007f", "é", " "];
        for (var length = 0; length <= 100; length++)
        {
            for (var at = 0; at <= length; at++)
            {
                foreach (var stop in stops)
                {
                    AssertScalarAsReader("\"" + new string('a', at) + stop + new string('b', length - at) + "\"");
                }
            }
        }
    }

    [Fact]
    public void MutatedRecords_AreIndexedOnlyWhenTheReaderTakesThem()
    {
        var random = new Random(37);
        var valid = """{"items" : [1, {"sku":"S-1","quantity":2}, "x\u00e9", null] , "total":-1.5e3, "c":true}"""u8.ToArray();
        var indexed = 0;
        for (var i = 0; i < 100_000; i++)
        {
            var bytes = valid.ToList();
            for (var m = random.Next(1, 4); m > 0; m--)
            {
                var at = random.Next(bytes.Count + 1);
                switch (random.Next(3))
                {
                    case 0 when at < bytes.Count:
                        bytes.RemoveAt(at);
                        break;
                    case 1:
                        bytes.Insert(at, (byte)MutationBytes[random.Next(MutationBytes.Length)]);
                        break;
                    default:
                        if (at < bytes.Count)
                        {
                            bytes[at] = (byte)MutationBytes[random.Next(MutationBytes.Length)];
                        }

                        break;
                }
            }

            var json = bytes.ToArray();
            if (TryIndex(json, OneField, container: true))
            {
                indexed++;
                Assert.True(ReaderTakes(json), Encoding.UTF8.GetString(json));
            }
        }

        Assert.InRange(indexed, 100, 100_000);
    }

    private static void AssertScalarAsReader(string value)
    {
        var json = Encoding.UTF8.GetBytes($$"""{"a":{{value}}}""");
        if (value.TrimStart(' ', '\t', '\n').StartsWith('{') || value.TrimStart(' ', '\t', '\n').StartsWith('['))
        {
            // Containers are never indexed here: only that nothing malformed is taken.
            Assert.True(!TryIndex(json, OneField, container: false) || ReaderTakes(json), value);
            return;
        }

        Assert.True(ReaderTakes(json) == TryIndex(json, OneField, container: false), value);
    }

    private static bool TryIndex(byte[] json, FieldTable table, bool container)
    {
        try
        {
            // Only store's table lets its items field hold an array; any other table indexes scalars.
            return FieldIndex.TryIndexRecord(json, container ? FieldTable.Store : table);
        }
        finally
        {
            FieldIndex.ClearThread();
        }
    }

    private static bool ReaderTakes(byte[] json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
