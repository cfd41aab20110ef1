using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Quarantine;
using Streams.Profiles.Features;

namespace Streams.Profiles.Processing;

/// <summary>The JSON records the profiles worker publishes (CONTRACT §4, §5.1, profile-merges), written field by field.</summary>
public sealed class ProfileRecordWriter
{
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>A profile (§5.1).</summary>
    public byte[] Profile(StoredProfile profile, DateTimeOffset updatedAt)
    {
        ArgumentNullException.ThrowIfNull(profile);
        return Write(w =>
        {
            w.WriteString("profile_id", profile.ProfileId);
            w.WriteStartArray("identifiers");
            foreach (var pseudonym in profile.SortedPseudonyms())
            {
                w.WriteStringValue(pseudonym);
            }

            w.WriteEndArray();
            WriteTime(w, "first_seen", profile.FirstSeen);
            WriteTime(w, "last_seen", profile.LastSeen);
            w.WriteStartObject("event_counts");
            w.WriteNumber("clickstream", profile.Aggregate.EventCounts.Clickstream);
            w.WriteNumber("store", profile.Aggregate.EventCounts.Store);
            w.WriteNumber("callcenter", profile.Aggregate.EventCounts.Callcenter);
            w.WriteNumber("social", profile.Aggregate.EventCounts.Social);
            w.WriteEndObject();
            w.WriteStartObject("features");
            profile.Aggregate.WriteFeatures(w);
            w.WriteEndObject();
            w.WriteBoolean("personalization_allowed", profile.PersonalizationAllowed);
            w.WriteNumber("version", profile.Version);
            WriteTime(w, "updated_at", updatedAt);
        });
    }

    /// <summary>A merge: <c>{"kind":"merge","merge_id","from","into","at","event_id"}</c> (CONTRACT §5.4).</summary>
    public byte[] Merge(string mergeId, string absorbed, string survivor, DateTimeOffset at, string eventId) => Write(w =>
    {
        w.WriteString("kind", "merge");
        w.WriteString("merge_id", mergeId);
        w.WriteString("from", absorbed);
        w.WriteString("into", survivor);
        w.WriteString("at", Time(at));
        w.WriteString("event_id", eventId);
    });

    /// <summary>
    /// An operator split <paramref name="restored"/> off <paramref name="survivor"/>: <c>{"kind":"unmerge"|"detach","merge_id","from",
    /// "into","at"}</c>, <c>merge_id</c> naming the undone merge (null for a detach) (CONTRACT §5.4).
    /// </summary>
    public byte[] Split(string kind, string? mergeId, string restored, string survivor, DateTimeOffset at) => Write(w =>
    {
        w.WriteString("kind", kind);
        if (mergeId is null)
        {
            w.WriteNull("merge_id");
        }
        else
        {
            w.WriteString("merge_id", mergeId);
        }

        w.WriteString("from", restored);
        w.WriteString("into", survivor);
        w.WriteString("at", Time(at));
    });

    /// <summary>Largest copy of the canonical event put into an identity-conflict record; a larger one (a sale with
    /// hundreds of long category names) is left out, so the record always fits the producer's message limit.</summary>
    public const int MaxRecordCopyBytes = 64 * 1024;

    /// <summary>
    /// The flagged quarantine record of an event whose link was refused by a cap (§4 <c>identity_conflict</c>). The
    /// masked copy holds only what the canonical event holds: the pseudonyms, never a raw value.
    /// </summary>
    public byte[] IdentityConflict(CanonicalEvent e, CanonicalIdentifier refused, int cap, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(refused);
        var type = IdentifierTypeNames.Name(refused.Type);
        return IdentityConflict(e, refused,
            $"linking {refused.Pseudonym} would give the profile more than {cap} {type} identifiers; the event is used, the link is not made", at);
    }

    /// <summary>The flagged <c>identity_conflict</c> quarantine record of an event, with <paramref name="detail"/> saying why.</summary>
    public byte[] IdentityConflict(CanonicalEvent e, CanonicalIdentifier refused, string detail, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(refused);
        var record = JsonSerializer.SerializeToUtf8Bytes(e, CanonicalJsonContext.Default.CanonicalEvent);
        var type = IdentifierTypeNames.Name(refused.Type);
        return Write(w =>
        {
            Source(w, e.Source.Topic, e.Source.Partition, e.Source.Offset);
            w.WriteString("event_id", e.EventId);
            w.WriteString("disposition", "flagged");
            w.WriteStartArray("reasons");
            w.WriteStartObject();
            w.WriteString("code", "identity_conflict");
            w.WriteString("field", type);
            w.WriteString("detail", detail);
            w.WriteEndObject();
            w.WriteEndArray();
            if (record.Length <= MaxRecordCopyBytes)
            {
                w.WritePropertyName("record");
                w.WriteRawValue(record);
            }
            else
            {
                w.WriteNull("record");
            }

            w.WriteString("raw_sha256", Convert.ToHexStringLower(SHA256.HashData(record)));
            w.WriteNumber("raw_bytes", record.Length);
            w.WriteString("quarantined_at", Time(at));
        });
    }

    /// <summary>The quarantine record of a canonical record the worker cannot read: bounded, no value of it copied.</summary>
    public static byte[] InvalidCanonical(InvalidItem item, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(item);
        return InternalQuarantineRecord.Write(item.Position.Topic, item.Position.Partition, item.Position.Offset, item.EventId, item.Reason,
            item.RawBytes, item.RawSha256, at);
    }

    private static void Source(Utf8JsonWriter w, string topic, int partition, long offset)
    {
        w.WriteStartObject("source");
        w.WriteString("topic", topic);
        w.WriteNumber("partition", partition);
        w.WriteNumber("offset", offset);
        w.WriteEndObject();
    }

    private static void WriteTime(Utf8JsonWriter writer, string name, DateTimeOffset value)
    {
        Span<char> text = stackalloc char[32];
        if (!value.UtcDateTime.TryFormat(text, out var length, TimeFormat, System.Globalization.CultureInfo.InvariantCulture))
        {
            writer.WriteString(name, Time(value));
            return;
        }

        writer.WriteString(name, text[..length]);
    }

    private static string Time(DateTimeOffset value) => value.UtcDateTime.ToString(TimeFormat, System.Globalization.CultureInfo.InvariantCulture);

    // One buffer and writer per thread, reused: a batch writes a record for every profile it changes.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? cachedBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? cachedWriter;

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = cachedBuffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = cachedWriter ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        writer.WriteStartObject();
        body(writer);
        writer.WriteEndObject();
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
