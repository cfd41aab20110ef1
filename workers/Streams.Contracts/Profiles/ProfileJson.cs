using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Streams.Contracts.Canonical;

namespace Streams.Contracts.Profiles;

/// <summary>
/// The one writer of the profiles worker's records: profiles (CONTRACT §5.1) and merges, unmerges and detaches (§5.4),
/// written field by field with a writer reused per thread. <see cref="ProfileRecordReader"/> reads the profiles.
/// </summary>
public static class ProfileJson
{
    /// <summary>How instants are written: UTC, milliseconds, <c>Z</c>.</summary>
    public const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>A profile (§5.1).</summary>
    /// <param name="profileId">The profile id.</param>
    /// <param name="identifiers">Its pseudonyms, in ordinal order.</param>
    /// <param name="firstSeen">Its first event, in event time.</param>
    /// <param name="lastSeen">Its last event, in event time.</param>
    /// <param name="eventCounts">Its events per channel.</param>
    /// <param name="writeFeatures">Writes the features as the properties of the <c>features</c> object.</param>
    /// <param name="personalizationAllowed">False after an opt-out.</param>
    /// <param name="version">The profile's version, one up per change.</param>
    /// <param name="updatedAt">When the change was made.</param>
    public static byte[] Profile(string profileId, IEnumerable<string> identifiers, DateTimeOffset firstSeen, DateTimeOffset lastSeen,
        (long Clickstream, long Store, long Callcenter, long Social) eventCounts, Action<Utf8JsonWriter> writeFeatures,
        bool personalizationAllowed, long version, DateTimeOffset updatedAt)
    {
        ArgumentNullException.ThrowIfNull(identifiers);
        ArgumentNullException.ThrowIfNull(writeFeatures);
        var w = Start();
        w.WriteString(ProfileRecordNames.ProfileId, profileId);
        w.WriteStartArray(ProfileRecordNames.Identifiers);
        foreach (var pseudonym in identifiers)
        {
            w.WriteStringValue(pseudonym);
        }

        w.WriteEndArray();
        WriteTime(w, ProfileRecordNames.FirstSeen, firstSeen);
        WriteTime(w, ProfileRecordNames.LastSeen, lastSeen);
        w.WriteStartObject(ProfileRecordNames.EventCounts);
        w.WriteNumber(CanonicalNames.ChannelName(Channel.Clickstream), eventCounts.Clickstream);
        w.WriteNumber(CanonicalNames.ChannelName(Channel.Store), eventCounts.Store);
        w.WriteNumber(CanonicalNames.ChannelName(Channel.Callcenter), eventCounts.Callcenter);
        w.WriteNumber(CanonicalNames.ChannelName(Channel.Social), eventCounts.Social);
        w.WriteEndObject();
        w.WriteStartObject(ProfileRecordNames.Features);
        writeFeatures(w);
        w.WriteEndObject();
        w.WriteBoolean(ProfileRecordNames.PersonalizationAllowed, personalizationAllowed);
        w.WriteNumber(ProfileRecordNames.Version, version);
        WriteTime(w, ProfileRecordNames.UpdatedAt, updatedAt);
        return Finish(w);
    }

    /// <summary>A merge: <c>{"kind":"merge","merge_id","from","into","at","event_id"}</c> (§5.4).</summary>
    public static byte[] Merge(string mergeId, string absorbed, string survivor, DateTimeOffset at, string eventId)
    {
        var w = Start();
        w.WriteString(ProfileRecordNames.Kind, ProfileRecordNames.KindMerge);
        w.WriteString(ProfileRecordNames.MergeId, mergeId);
        WriteMove(w, absorbed, survivor, at);
        w.WriteString(ProfileRecordNames.EventId, eventId);
        return Finish(w);
    }

    /// <summary>
    /// An operator split <paramref name="restored"/> off <paramref name="survivor"/>: <c>{"kind":"unmerge"|"detach","merge_id","from",
    /// "into","at"}</c>, <c>merge_id</c> naming the undone merge (null for a detach) (§5.4).
    /// </summary>
    public static byte[] Split(string kind, string? mergeId, string restored, string survivor, DateTimeOffset at)
    {
        var w = Start();
        w.WriteString(ProfileRecordNames.Kind, kind);
        if (mergeId is null)
        {
            w.WriteNull(ProfileRecordNames.MergeId);
        }
        else
        {
            w.WriteString(ProfileRecordNames.MergeId, mergeId);
        }

        WriteMove(w, restored, survivor, at);
        return Finish(w);
    }

    /// <summary>An instant as <see cref="TimeFormat"/> writes it.</summary>
    public static string Time(DateTimeOffset value) => value.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    private static void WriteMove(Utf8JsonWriter w, string from, string into, DateTimeOffset at)
    {
        w.WriteString(ProfileRecordNames.From, from);
        w.WriteString(ProfileRecordNames.Into, into);
        w.WriteString(ProfileRecordNames.At, Time(at));
    }

    private static void WriteTime(Utf8JsonWriter writer, string name, DateTimeOffset value)
    {
        Span<char> text = stackalloc char[32];
        if (!value.UtcDateTime.TryFormat(text, out var length, TimeFormat, CultureInfo.InvariantCulture))
        {
            writer.WriteString(name, Time(value));
            return;
        }

        writer.WriteString(name, text[..length]);
    }

    // One buffer and writer per thread, reused: a batch writes a record for every profile it changes.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? cachedBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? cachedWriter;

    private static Utf8JsonWriter Start()
    {
        var buffer = cachedBuffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = cachedWriter ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        writer.WriteStartObject();
        return writer;
    }

    private static byte[] Finish(Utf8JsonWriter writer)
    {
        writer.WriteEndObject();
        writer.Flush();
        return cachedBuffer!.WrittenSpan.ToArray();
    }
}
