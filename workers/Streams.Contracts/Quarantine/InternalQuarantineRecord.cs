using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Streams.Contracts.Quarantine;

/// <summary>
/// The quarantine record (CONTRACT §4) of a record on an internal topic (canonical events, profiles) that a worker cannot
/// use. Only the worker's own words go in: the reason, the source position and a digest, never a value of the record,
/// its key or its headers (an unreadable record may hold anything). Every part is bounded, so the record always fits the
/// producer's message limit, whatever the input was.
/// </summary>
public static class InternalQuarantineRecord
{
    /// <summary>Longest <c>detail</c> written, in UTF-16 units.</summary>
    public const int MaxDetailLength = 256;

    /// <summary>Longest <c>event_id</c> written, in UTF-16 units (CONTRACT §2: 1–128 characters, each at most two units).</summary>
    public const int MaxEventIdLength = 256;

    /// <summary>Longest <c>field</c> written, in UTF-16 units.</summary>
    public const int MaxFieldLength = 64;

    /// <summary>
    /// An upper bound of the record's size in bytes: topic names are at most 249 ASCII characters, and each UTF-16 unit
    /// of the bounded strings is written as at most six bytes (<c>\uXXXX</c>).
    /// </summary>
    public const int MaxBytes = 4096;

    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>The key of the quarantine record: the source position, so it copies nothing of the record's own key.</summary>
    public static byte[] Key(string topic, int partition, long offset) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{topic}/{partition}/{offset}"));

    /// <summary>Lower-case hex SHA-256 of <paramref name="raw"/>, the <c>raw_sha256</c> field.</summary>
    public static string Digest(ReadOnlySpan<byte> raw) => Convert.ToHexStringLower(SHA256.HashData(raw));

    /// <summary>A <c>quarantined</c> record with one reason and no copy of the input (<c>record</c> is null).</summary>
    /// <param name="topic">Topic of the record.</param>
    /// <param name="partition">Its partition.</param>
    /// <param name="offset">Its offset.</param>
    /// <param name="eventId">Its event id when the worker could read one that is well-formed, else null.</param>
    /// <param name="reason">The reason: a CONTRACT §4 code, the field (or null) and a detail in the worker's words.</param>
    /// <param name="rawBytes">Size of the record's value in bytes.</param>
    /// <param name="rawSha256"><see cref="Digest"/> of the record's value.</param>
    /// <param name="at">When it was quarantined.</param>
    public static byte[] Write(string topic, int partition, long offset, string? eventId, QuarantineReason reason, int rawBytes,
        string rawSha256, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(reason);
        var bounded = reason with
        {
            Field = reason.Field is null ? null : Cut(reason.Field, MaxFieldLength),
            Detail = Cut(reason.Detail, MaxDetailLength),
        };
        // Not echoed: the worker cannot tell what an unusable record holds, so it must not pass it on.
        return Write(new SourcePosition(topic, partition, offset), eventId is null ? null : Cut(eventId, MaxEventIdLength),
            QuarantineDisposition.Quarantined, bounded, copy: null, rawBytes, rawSha256, at);
    }

    /// <summary>
    /// A <c>flagged</c> record: the event was used, without what <paramref name="reason"/> names. <paramref name="copy"/> is
    /// the event's own JSON (null when it is too large to copy); <c>raw_sha256</c> and <c>raw_bytes</c> describe it.
    /// </summary>
    public static byte[] WriteFlagged(SourcePosition source, string eventId, QuarantineReason reason, byte[] copy, bool withCopy,
        DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(copy);
        return Write(source, eventId, QuarantineDisposition.Flagged, reason, withCopy ? copy : null, copy.Length, Digest(copy), at);
    }

    private static byte[] Write(SourcePosition source, string? eventId, QuarantineDisposition disposition, QuarantineReason reason,
        byte[]? copy, int rawBytes, string rawSha256, DateTimeOffset at)
    {
        var buffer = new ArrayBufferWriter<byte>(copy is null ? 512 : copy.Length + 1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject(QuarantineRecordNames.Source);
            w.WriteString(QuarantineRecordNames.Topic, source.Topic);
            w.WriteNumber(QuarantineRecordNames.Partition, source.Partition);
            w.WriteNumber(QuarantineRecordNames.Offset, source.Offset);
            w.WriteEndObject();
            WriteNullable(w, QuarantineRecordNames.EventId, eventId);
            w.WriteString(QuarantineRecordNames.Disposition, QuarantineRecordNames.DispositionName(disposition));
            w.WriteStartArray(QuarantineRecordNames.Reasons);
            w.WriteStartObject();
            w.WriteString(QuarantineRecordNames.Code, reason.Code);
            WriteNullable(w, QuarantineRecordNames.Field, reason.Field);
            w.WriteString(QuarantineRecordNames.Detail, reason.Detail);
            w.WriteEndObject();
            w.WriteEndArray();
            if (copy is null)
            {
                w.WriteNull(QuarantineRecordNames.Record);
            }
            else
            {
                w.WritePropertyName(QuarantineRecordNames.Record);
                w.WriteRawValue(copy);
            }

            w.WriteString(QuarantineRecordNames.RawSha256, rawSha256);
            w.WriteNumber(QuarantineRecordNames.RawBytes, rawBytes);
            w.WriteString(QuarantineRecordNames.QuarantinedAt, at.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    /// <summary>At most <paramref name="max"/> UTF-16 units, never half a surrogate pair, and no lone surrogate (the writer
    /// would refuse it): those become U+FFFD.</summary>
    internal static string Cut(string text, int max)
    {
        var cut = text.Length <= max ? text : text[..(char.IsHighSurrogate(text[max - 1]) ? max - 1 : max)];
        for (var i = 0; i < cut.Length; i++)
        {
            if (char.IsSurrogate(cut[i]) && !(char.IsHighSurrogate(cut[i]) && i + 1 < cut.Length && char.IsLowSurrogate(cut[i + 1])))
            {
                return string.Create(cut.Length, cut, static (chars, source) =>
                {
                    for (var j = 0; j < source.Length; j++)
                    {
                        var paired = char.IsHighSurrogate(source[j]) ? j + 1 < source.Length && char.IsLowSurrogate(source[j + 1])
                            : !char.IsLowSurrogate(source[j]) || (j > 0 && char.IsHighSurrogate(source[j - 1]));
                        chars[j] = paired ? source[j] : '\uFFFD';
                    }
                });
            }

            if (char.IsHighSurrogate(cut[i]))
            {
                i++;
            }
        }

        return cut;
    }
}
