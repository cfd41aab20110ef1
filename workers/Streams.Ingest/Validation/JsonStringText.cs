using System.Buffers;
using System.Buffers.Text;
using System.Text.Unicode;

namespace Streams.Ingest.Validation;

/// <summary>
/// The text of a JSON string with escapes, decoded straight from the record's bytes: what
/// <see cref="System.Text.Json.Utf8JsonReader.GetString"/> makes of them, without a reader per string. The .NET writers
/// escape every non-ASCII character and '+' by default, so many names, emails and phones arrive escaped.
/// </summary>
internal static class JsonStringText
{
    /// <summary>
    /// Decodes <paramref name="contents"/> (a JSON string's bytes between its quotes, valid UTF-8) into
    /// <paramref name="destination"/> as UTF-16. False when <paramref name="destination"/> is too short, an escape is
    /// malformed, or a <c>\u</c> escape is a lone surrogate: the reader refuses that text, and so must every caller.
    /// The text is never longer in UTF-16 code units than <paramref name="contents"/> in bytes.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> contents, Span<char> destination, out int written)
    {
        var sink = new Decoder(destination);
        var decoded = TryWalk(contents, ref sink);
        written = decoded ? sink.Written : 0;
        return decoded;
    }

    /// <summary>
    /// The code points of the text <see cref="TryDecode"/> would make of <paramref name="contents"/>, without making it
    /// (a surrogate pair counts once, as a JSON Schema validator counts); false where it would refuse the text.
    /// </summary>
    public static bool TryCountCodePoints(ReadOnlySpan<byte> contents, out int codePoints)
    {
        var sink = new Counter();
        var counted = TryWalk(contents, ref sink);
        codePoints = counted ? sink.CodePoints : 0;
        return counted;
    }

    /// <summary>Hands <paramref name="sink"/> the text's unescaped runs and each escape's code point, in order.</summary>
    private static bool TryWalk<TSink>(ReadOnlySpan<byte> contents, ref TSink sink)
        where TSink : struct, ISink, allows ref struct
    {
        while (true)
        {
            var backslash = contents.IndexOf((byte)'\\');
            if (!sink.TryPlain(backslash < 0 ? contents : contents[..backslash]))
            {
                return false;
            }

            if (backslash < 0)
            {
                return true;
            }

            contents = contents[(backslash + 1)..];
            if (contents.IsEmpty)
            {
                return false;
            }

            if (contents[0] != (byte)'u')
            {
                var simple = Simple(contents[0]);
                if (simple == 0 || !sink.TryUnit(simple))
                {
                    return false;
                }

                contents = contents[1..];
                continue;
            }

            if (!TryHex(contents, out var unit) || char.IsLowSurrogate(unit))
            {
                return false;
            }

            contents = contents[5..];
            if (!char.IsHighSurrogate(unit))
            {
                if (!sink.TryUnit(unit))
                {
                    return false;
                }

                continue;
            }

            // Only a \u escaped low surrogate can complete it: UTF-8 never encodes a surrogate.
            if (contents.Length < 6 || contents[0] != (byte)'\\' || !TryHex(contents[1..], out var low) || !char.IsLowSurrogate(low)
                || !sink.TryPair(unit, low))
            {
                return false;
            }

            contents = contents[6..];
        }
    }

    /// <summary>
    /// How many bytes the escape at the start of <paramref name="escape"/> (after its backslash) takes: 1 for a
    /// one-letter escape, 5 for <c>uXXXX</c>, 0 when it is not an escape JSON allows.
    /// </summary>
    public static int EscapeLength(ReadOnlySpan<byte> escape) =>
        escape.IsEmpty ? 0 : Simple(escape[0]) != 0 ? 1 : TryHex(escape, out _) ? 5 : 0;

    /// <summary>The bytes of <paramref name="utf8"/> that continue a code point (10xxxxxx).</summary>
    public static int CountContinuationBytes(ReadOnlySpan<byte> utf8)
    {
        var count = 0;
        foreach (var b in utf8)
        {
            count += (b & 0xC0) == 0x80 ? 1 : 0;
        }

        return count;
    }

    /// <summary>The character a one-letter escape stands for; 0 for a letter that is not one.</summary>
    private static char Simple(byte letter) => letter switch
    {
        (byte)'"' => '"',
        (byte)'\\' => '\\',
        (byte)'/' => '/',
        (byte)'b' => '\b',
        (byte)'f' => '\f',
        (byte)'n' => '\n',
        (byte)'r' => '\r',
        (byte)'t' => '\t',
        _ => '\0',
    };

    /// <summary>The code unit of <c>uXXXX</c> at the start of <paramref name="escape"/> (after its backslash).</summary>
    private static bool TryHex(ReadOnlySpan<byte> escape, out char unit)
    {
        unit = '\0';
        if (escape.Length < 5 || escape[0] != (byte)'u'
            || !Utf8Parser.TryParse(escape.Slice(1, 4), out ushort value, out var consumed, 'x') || consumed != 4)
        {
            return false;
        }

        unit = (char)value;
        return true;
    }

    private interface ISink
    {
        bool TryPlain(ReadOnlySpan<byte> utf8);

        bool TryUnit(char unit);

        bool TryPair(char high, char low);
    }

    private ref struct Decoder(Span<char> destination) : ISink
    {
        private readonly Span<char> destination = destination;

        public int Written { get; private set; }

        public bool TryPlain(ReadOnlySpan<byte> utf8)
        {
            if (utf8.IsEmpty)
            {
                return true;
            }

            var status = Utf8.ToUtf16(utf8, destination[Written..], out _, out var chars, replaceInvalidSequences: false);
            Written += chars;
            return status == OperationStatus.Done;
        }

        public bool TryUnit(char unit)
        {
            if (Written == destination.Length)
            {
                return false;
            }

            destination[Written++] = unit;
            return true;
        }

        public bool TryPair(char high, char low) => Written + 1 < destination.Length && TryUnit(high) && TryUnit(low);
    }

    private struct Counter : ISink
    {
        public int CodePoints { get; private set; }

        /// <summary>Valid UTF-8: every code point starts with exactly one byte that is not 10xxxxxx.</summary>
        public bool TryPlain(ReadOnlySpan<byte> utf8)
        {
            CodePoints += utf8.Length - CountContinuationBytes(utf8);
            return true;
        }

        public bool TryUnit(char unit)
        {
            CodePoints++;
            return true;
        }

        public bool TryPair(char high, char low)
        {
            CodePoints++;
            return true;
        }
    }
}
