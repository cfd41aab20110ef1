using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Streams.Contracts.Segments;

/// <summary>
/// The one writer of the segmentation worker's records: a profile's assignment on <c>segments</c> (CONTRACT §5.2) and a
/// segment's description on <c>segment-catalog</c> (§5.3). Rounding is part of the format: distances to 6 decimals,
/// z-scores, contributions and centroid values to 4.
/// </summary>
public static class SegmentJson
{
    /// <summary>A profile's assignment to <paramref name="segment"/> of model <paramref name="version"/>.</summary>
    public static byte[] Assignment(string profileId, int segment, long version, double distance, DateTimeOffset at,
        IEnumerable<(string Feature, double ProfileZ, double SegmentZ, double Contribution)> explanation, string summary)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        return Write(w =>
        {
            w.WriteString(SegmentRecordNames.ProfileId, profileId);
            w.WriteNumber(SegmentRecordNames.SegmentId, segment);
            w.WriteNumber(SegmentRecordNames.ModelVersion, version);
            w.WriteNumber(SegmentRecordNames.Distance, Math.Round(distance, 6));
            Span<char> assignedAt = stackalloc char[24];
            at.UtcDateTime.TryFormat(assignedAt, out var length, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            w.WriteString(SegmentRecordNames.AssignedAt, assignedAt[..length]);
            w.WriteStartArray(SegmentRecordNames.Explanation);
            foreach (var item in explanation)
            {
                w.WriteStartObject();
                w.WriteString(SegmentRecordNames.Feature, item.Feature);
                w.WriteNumber(SegmentRecordNames.ProfileZ, Math.Round(item.ProfileZ, 4));
                w.WriteNumber(SegmentRecordNames.SegmentZ, Math.Round(item.SegmentZ, 4));
                w.WriteNumber(SegmentRecordNames.Contribution, Math.Round(item.Contribution, 4));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteString(SegmentRecordNames.Summary, summary);
        });
    }

    /// <summary>A segment's catalog record: its size, its centroid in original units (by feature name), what sets it apart.</summary>
    public static byte[] Catalog(int segment, long version, long size, IEnumerable<KeyValuePair<string, double>> centroid,
        IEnumerable<(string Feature, double SegmentZ)> topFeatures, string description)
    {
        ArgumentNullException.ThrowIfNull(centroid);
        ArgumentNullException.ThrowIfNull(topFeatures);
        return Write(w =>
        {
            w.WriteNumber(SegmentRecordNames.SegmentId, segment);
            w.WriteNumber(SegmentRecordNames.ModelVersion, version);
            w.WriteNumber(SegmentRecordNames.Size, size);
            w.WriteStartObject(SegmentRecordNames.Centroid);
            foreach (var (name, value) in centroid.OrderBy(o => o.Key, StringComparer.Ordinal))
            {
                w.WriteNumber(name, Math.Round(value, 4));
            }

            w.WriteEndObject();
            w.WriteStartArray(SegmentRecordNames.TopFeatures);
            foreach (var (feature, segmentZ) in topFeatures)
            {
                w.WriteStartObject();
                w.WriteString(SegmentRecordNames.Feature, feature);
                w.WriteNumber(SegmentRecordNames.SegmentZ, Math.Round(segmentZ, 4));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteString(SegmentRecordNames.Description, description);
        });
    }

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? cachedBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? cachedWriter;

    // One buffer and writer per thread: an assignment is written for every profile record.
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
