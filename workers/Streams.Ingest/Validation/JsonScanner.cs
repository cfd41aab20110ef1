using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text.Json;

namespace Streams.Ingest.Validation;

/// <summary>
/// A forward scan of JSON text (RFC 8259) for <see cref="FieldIndex"/>: whitespace, punctuation and scalar values, each
/// checked against the grammar. It never throws: anything it does not take for certain (malformed text, but also a
/// name with an escape) is a false, after which the caller leaves the record to the thorough parse, which decides. So
/// it may refuse more than the grammar does, never less. The caller has checked the text is valid UTF-8.
/// </summary>
/// <remarks>
/// A <see cref="Utf8JsonReader"/> did this at about 15 ns a token, a fifth of a store record's whole judging: its
/// generality (segments, comments, depth, positions for messages) is paid on every token.
/// </remarks>
internal ref struct JsonScanner(ReadOnlySpan<byte> text)
{
    /// <summary>What ends a run of plain string bytes: the closing quote, an escape, or a control character (never valid raw).</summary>
    private static readonly SearchValues<byte> StringStops = SearchValues.Create(
        [(byte)'"', (byte)'\\', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]);

    private readonly ReadOnlySpan<byte> text = text;

    public int Position { get; private set; }

    /// <summary>Skips whitespace: true when nothing else was left.</summary>
    public bool TrySkipToEnd()
    {
        SkipWhitespace();
        return Position == text.Length;
    }

    private void SkipWhitespace()
    {
        while (Position < text.Length && text[Position] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
        {
            Position++;
        }
    }

    /// <summary>Skips whitespace, then <paramref name="punctuation"/> if it is next.</summary>
    public bool TryConsume(byte punctuation)
    {
        SkipWhitespace();
        if (Position < text.Length && text[Position] == punctuation)
        {
            Position++;
            return true;
        }

        return false;
    }

    /// <summary>
    /// <paramref name="literal"/> exactly where the scanner is, without white space before it: for punctuation and
    /// names of a shape known in advance, compared as one run of bytes.
    /// </summary>
    public bool TryConsumeExact(ReadOnlySpan<byte> literal)
    {
        if (!text[Position..].StartsWith(literal))
        {
            return false;
        }

        Position += literal.Length;
        return true;
    }

    /// <summary>Skips whitespace, then tells the kind of the value that starts there by its first byte (not yet checked).</summary>
    public JsonValueKind PeekValue()
    {
        SkipWhitespace();
        return Position == text.Length ? JsonValueKind.Undefined : text[Position] switch
        {
            (byte)'"' => JsonValueKind.String,
            (byte)'-' or (>= (byte)'0' and <= (byte)'9') => JsonValueKind.Number,
            (byte)'t' => JsonValueKind.True,
            (byte)'f' => JsonValueKind.False,
            (byte)'n' => JsonValueKind.Null,
            (byte)'{' => JsonValueKind.Object,
            (byte)'[' => JsonValueKind.Array,
            _ => JsonValueKind.Undefined,
        };
    }

    /// <summary>The scalar <see cref="PeekValue"/> found, checked and skipped.</summary>
    public bool TrySkipScalar(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => TrySkipString(escapes: true),
        JsonValueKind.Number => TrySkipNumber(),
        JsonValueKind.True => TrySkipLiteral("true"u8),
        JsonValueKind.False => TrySkipLiteral("false"u8),
        JsonValueKind.Null => TrySkipLiteral("null"u8),
        _ => false,
    };

    /// <summary>
    /// A property name and its colon: where the name's text starts and how long it is (quotes excluded). False for a
    /// name with an escape too, which only the thorough parse compares as the text it stands for.
    /// </summary>
    public bool TryReadName(out int start, out int length)
    {
        SkipWhitespace();
        start = Position + 1;
        length = 0;
        if (Position == text.Length || text[Position] != (byte)'"' || !TrySkipString(escapes: false))
        {
            return false;
        }

        length = Position - 1 - start;
        return TryConsume((byte)':');
    }

    private bool TrySkipString(bool escapes)
    {
        var at = Position + 1;
        while (true)
        {
            var stop = IndexOfStringStop(text[at..]);
            if (stop < 0)
            {
                return false;
            }

            at += stop;
            if (text[at] == (byte)'"')
            {
                Position = at + 1;
                return true;
            }

            var escape = escapes && text[at] == (byte)'\\' ? JsonStringText.EscapeLength(text[(at + 1)..]) : 0;
            if (escape == 0)
            {
                return false;
            }

            at += 1 + escape;
        }
    }

    /// <summary>
    /// The first closing quote, escape or control character: <see cref="StringStops"/>. Tested in 32-byte blocks with
    /// three comparisons each, the last block overlapping the one before it; a general search of a set costs more per call
    /// than the few bytes of a name or a value take, and a record has dozens of them.
    /// </summary>
    private static int IndexOfStringStop(ReadOnlySpan<byte> span)
    {
        if (!Vector256.IsHardwareAccelerated || span.Length < Vector256<byte>.Count)
        {
            return span.IndexOfAny(StringStops);
        }

        ref var first = ref MemoryMarshal.GetReference(span);
        var quote = Vector256.Create((byte)'"');
        var backslash = Vector256.Create((byte)'\\');
        var space = Vector256.Create((byte)' ');
        var last = span.Length - Vector256<byte>.Count;
        var offset = 0;
        while (true)
        {
            var block = Vector256.LoadUnsafe(ref first, (nuint)offset);
            var stops = (Vector256.Equals(block, quote) | Vector256.Equals(block, backslash) | Vector256.LessThan(block, space))
                .ExtractMostSignificantBits();
            if (stops != 0)
            {
                return offset + BitOperations.TrailingZeroCount(stops);
            }

            if (offset == last)
            {
                return -1;
            }

            // The bytes the last block shares with this one are known to be plain, so its first stop is the first.
            offset = Math.Min(offset + Vector256<byte>.Count, last);
        }
    }

    /// <summary><c>-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?</c>; what follows is the caller's to check.</summary>
    private bool TrySkipNumber()
    {
        var at = Position;
        if (text[at] == (byte)'-')
        {
            at++;
        }

        if (at == text.Length || !char.IsAsciiDigit((char)text[at]))
        {
            return false;
        }

        at = text[at] == (byte)'0' ? at + 1 : SkipDigits(at);
        if (at < text.Length && text[at] == (byte)'.')
        {
            if (++at == text.Length || !char.IsAsciiDigit((char)text[at]))
            {
                return false;
            }

            at = SkipDigits(at);
        }

        if (at < text.Length && text[at] is (byte)'e' or (byte)'E')
        {
            if (++at < text.Length && text[at] is (byte)'+' or (byte)'-')
            {
                at++;
            }

            if (at == text.Length || !char.IsAsciiDigit((char)text[at]))
            {
                return false;
            }

            at = SkipDigits(at);
        }

        Position = at;
        return true;
    }

    private readonly int SkipDigits(int at)
    {
        // Byte by byte: a number here has a few digits, below what a vectorized search pays for.
        while (at < text.Length && char.IsAsciiDigit((char)text[at]))
        {
            at++;
        }

        return at;
    }

    private bool TrySkipLiteral(ReadOnlySpan<byte> literal)
    {
        if (!text[Position..].StartsWith(literal))
        {
            return false;
        }

        Position += literal.Length;
        return true;
    }
}
