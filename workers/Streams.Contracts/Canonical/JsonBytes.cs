using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Json;

namespace Streams.Contracts.Canonical;

/// <summary>
/// Minimized JSON written straight into a byte buffer, with the bytes of a <see cref="Utf8JsonWriter"/> under default
/// options: the writer's per-call bookkeeping (state checks, a span per token, escaping checks of names known at
/// compile time) was most of a canonical event's serialization. Names are written as prepared literals; a string is
/// copied as ASCII when nothing in it needs escaping, and anything this class does not write itself (text to escape, a
/// double outside <see cref="FixedPointNumber"/>, a timestamp not in UTC) is written by a <see cref="Utf8JsonWriter"/>
/// and copied, so the rules stay the writer's.
/// </summary>
/// <remarks>
/// Only a fixed, well-formed sequence of calls is made (the canonical writer's), as with a writer that skips validation.
/// One instance per thread, reused: see <see cref="Rent"/>.
/// </remarks>
internal sealed class JsonBytes
{
    /// <summary>A buffer grown past this for a rare huge record is not kept for the next one.</summary>
    private const int KeptCapacity = 64 * 1024;

    /// <summary>The printable ASCII the writer's default encoder leaves as it is (it escapes <c>"&amp;'+&lt;&gt;\`</c> and all else).</summary>
    private static readonly SearchValues<char> Plain = SearchValues.Create(
        " !#$%()*,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~");

    private static readonly StandardFormat RoundTrip = new('O');

    [ThreadStatic]
    private static JsonBytes? cached;

    private byte[] buffer = new byte[1024];
    private int length;
    private bool separate;

    /// <summary>For what this class leaves to the writer: its bytes for one value.</summary>
    private ArrayBufferWriter<byte>? scratch;
    private Utf8JsonWriter? scratchWriter;

    /// <summary>This thread's instance, emptied.</summary>
    public static JsonBytes Rent()
    {
        var bytes = cached ??= new JsonBytes();
        bytes.length = 0;
        bytes.separate = false;
        return bytes;
    }

    /// <summary>The bytes written, as their own array; a buffer grown for a huge value is let go.</summary>
    public byte[] ToArray()
    {
        var bytes = buffer.AsSpan(0, length).ToArray();
        LetGoIfHuge();
        return bytes;
    }

    /// <summary>The bytes written, as the next value of <paramref name="writer"/>; a buffer grown for a huge value is let go.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteRawValue(buffer.AsSpan(0, length), skipInputValidation: true);
        LetGoIfHuge();
    }

    /// <summary>A rare huge record (lineage carries canonical events of up to a MiB) must not keep its buffer alive in the thread for good.</summary>
    private void LetGoIfHuge()
    {
        if (buffer.Length > KeptCapacity)
        {
            cached = null;
        }
    }

    public void StartObject() => Open((byte)'{');

    public void StartObject(CanonicalName name)
    {
        PropertyName(name);
        Open((byte)'{');
    }

    public void EndObject() => Close((byte)'}');

    public void StartArray(CanonicalName name)
    {
        PropertyName(name);
        Open((byte)'[');
    }

    public void EndArray() => Close((byte)']');

    /// <summary><c>"name":</c>, after the separator when one is due: one copy of the name's prepared member.</summary>
    public void PropertyName(CanonicalName name)
    {
        var skip = separate ? 0 : 1;
        Copy(name, skip, name.MemberLength - skip);
        separate = false;
    }

    public void String(CanonicalName name, string value)
    {
        PropertyName(name);
        StringValue(value);
    }

    /// <summary>A value encoded once (an enum's wire name), in quotes: the middle of its prepared member.</summary>
    public void String(CanonicalName name, CanonicalName value)
    {
        PropertyName(name);
        Copy(value, 1, value.MemberLength - 2);
        separate = true;
    }

    public void StringValue(string value)
    {
        var text = value.AsSpan();
        if (text.ContainsAnyExcept(Plain))
        {
            Scratch().WriteStringValue(text);
            CopyScratch();
            return;
        }

        var span = Next(text.Length + 2);
        span[0] = (byte)'"';
        Ascii.FromUtf16(text, span[1..], out var written);
        span[written + 1] = (byte)'"';
        Wrote(written + 2);
    }

    public void Number(CanonicalName name, long value)
    {
        PropertyName(name);
        var span = Reserve(DecimalDigits.MaxLength + 1);
        if (value >= 0)
        {
            Wrote(DecimalDigits.Write((ulong)value, span));
            return;
        }

        // Two's complement: the magnitude of long.MinValue too.
        span[0] = (byte)'-';
        Wrote(1 + DecimalDigits.Write(0UL - (ulong)value, span[1..]));
    }

    /// <summary>Amounts as <see cref="FixedPointNumber"/>, any other double as the writer formats it.</summary>
    public void Number(CanonicalName name, double value)
    {
        PropertyName(name);
        var span = Reserve(FixedPointNumber.MaxLength);
        if (FixedPointNumber.TryFormat(value, span, out var written))
        {
            Wrote(written);
            return;
        }

        Scratch().WriteNumberValue(value);
        CopyScratch();
    }

    public void Boolean(CanonicalName name, bool value)
    {
        PropertyName(name);
        var literal = value ? "true"u8 : "false"u8;
        literal.CopyTo(Reserve(literal.Length));
        Wrote(literal.Length);
    }

    /// <summary>As the writer writes a <see cref="DateTime"/>: round-trip form, trailing zeros of the fraction trimmed.</summary>
    public void Timestamp(CanonicalName name, DateTime value)
    {
        PropertyName(name);
        // "yyyy-MM-ddTHH:mm:ss.fffffffZ": 28 bytes in UTC, and only UTC is trimmed here.
        Span<byte> text = stackalloc byte[33];
        if (value.Kind != DateTimeKind.Utc || !Utf8Formatter.TryFormat(value, text, out var written, RoundTrip) || written != 28)
        {
            Scratch().WriteStringValue(value);
            CopyScratch();
            return;
        }

        // The fraction is text[20..27]: drop its trailing zeros, and the point too when nothing is left of it.
        var end = 27;
        while (end > 20 && text[end - 1] == (byte)'0')
        {
            end--;
        }

        if (end == 20)
        {
            end = 19;
        }

        var span = Reserve(end + 3);
        span[0] = (byte)'"';
        text[..end].CopyTo(span[1..]);
        span[end + 1] = (byte)'Z';
        span[end + 2] = (byte)'"';
        Wrote(end + 3);
    }

    /// <summary>
    /// <paramref name="count"/> bytes of <paramref name="name"/>'s member from <paramref name="start"/> (0 or 1), as one
    /// 32-byte move when the member fits: the bytes after them are overwritten by whatever is written next.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Copy(CanonicalName name, int start, int count)
    {
        if (Vector256.IsHardwareAccelerated && name.FitsOneCopy)
        {
            // The member's array has CopyBytes + 1 bytes at least, so the load stays inside it from either start.
            var span = Reserve(CanonicalName.CopyBytes);
            Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(name.Member), (nuint)start)
                .StoreUnsafe(ref MemoryMarshal.GetReference(span));
        }
        else
        {
            name.Member.AsSpan(start, count).CopyTo(Reserve(count));
        }

        length += count;
    }

    private void Open(byte bracket)
    {
        Next(1)[0] = bracket;
        length++;
        separate = false;
    }

    private void Close(byte bracket)
    {
        Reserve(1)[0] = bracket;
        length++;
        separate = true;
    }

    /// <summary>A value's bytes are in place right after the last name or separator: count them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Wrote(int bytes)
    {
        length += bytes;
        separate = true;
    }

    /// <summary>
    /// Room for a name or value of <paramref name="bytes"/> after the separator, which is written when one is due:
    /// where the name or value goes.
    /// </summary>
    private Span<byte> Next(int bytes)
    {
        var span = Reserve(bytes + 1);
        if (!separate)
        {
            return span;
        }

        span[0] = (byte)',';
        length++;
        return span[1..];
    }

    /// <summary>Room for <paramref name="bytes"/> more, where the next byte goes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> Reserve(int bytes)
    {
        if (buffer.Length - length < bytes)
        {
            Grow(bytes);
        }

        return buffer.AsSpan(length);
    }

    private void Grow(int bytes) => Array.Resize(ref buffer, Math.Max(buffer.Length * 2, length + bytes));

    private Utf8JsonWriter Scratch()
    {
        scratch ??= new ArrayBufferWriter<byte>(256);
        scratch.ResetWrittenCount();
        if (scratchWriter is null)
        {
            scratchWriter = new Utf8JsonWriter(scratch, new JsonWriterOptions { SkipValidation = true });
        }
        else
        {
            scratchWriter.Reset(scratch);
        }

        return scratchWriter;
    }

    /// <summary>The scratch writer's one value, after a separator when one is due.</summary>
    private void CopyScratch()
    {
        scratchWriter!.Flush();
        var value = scratch!.WrittenSpan;
        value.CopyTo(Next(value.Length));
        Wrote(value.Length);
        if (scratch.Capacity > KeptCapacity)
        {
            scratch = null;
            scratchWriter = null;
        }
    }
}
