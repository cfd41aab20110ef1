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
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("source");
            w.WriteString("topic", topic);
            w.WriteNumber("partition", partition);
            w.WriteNumber("offset", offset);
            w.WriteEndObject();
            if (eventId is null)
            {
                w.WriteNull("event_id");
            }
            else
            {
                w.WriteString("event_id", Cut(eventId, MaxEventIdLength));
            }

            w.WriteString("disposition", "quarantined");
            w.WriteStartArray("reasons");
            w.WriteStartObject();
            w.WriteString("code", reason.Code);
            if (reason.Field is null)
            {
                w.WriteNull("field");
            }
            else
            {
                w.WriteString("field", Cut(reason.Field, MaxFieldLength));
            }

            w.WriteString("detail", Cut(reason.Detail, MaxDetailLength));
            w.WriteEndObject();
            w.WriteEndArray();
            // Not echoed: the worker cannot tell what an unusable record holds, so it must not pass it on.
            w.WriteNull("record");
            w.WriteString("raw_sha256", rawSha256);
            w.WriteNumber("raw_bytes", rawBytes);
            w.WriteString("quarantined_at", at.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
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
