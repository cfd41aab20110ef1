using System.Buffers;
using System.Text.Json;
using Streams.Ingest.Pseudonymization;
using Streams.Profiles.Store;
using Streams.Segmentation.Store;

namespace Streams.Activation.Requests;

/// <summary>One answer for <c>activation-responses</c>: its key (the record id), value, and the segment when matched.</summary>
public sealed record ActivationAnswer(byte[] Key, byte[] Value, int? SegmentId)
{
    public bool Matched => SegmentId is not null;
}

/// <summary>
/// The audience join's rules (CONTRACT §8), apart from I/O: identifiers become pseudonyms exactly as ingest makes them
/// (the ingest <see cref="Pseudonymizer"/>, same keys, same normalization), and a row is answered with its profile's
/// published segment only when every rule lets it; in every other case with the one "unknown" answer, so an answer
/// never tells an opted-out, erased or unknown customer apart.
/// </summary>
public sealed class ActivationMatcher(Pseudonymizer pseudonymizer)
{
    /// <summary>
    /// The row with its identifiers replaced by pseudonyms (an identifier that is not valid for its type has none and
    /// cannot match), or null when its record id is one of its own identifiers spelled another way: that id is personal data.
    /// </summary>
    public PseudonymousRequest? Pseudonymize(ActivationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var pseudonyms = new List<string>(request.Identifiers.Count);
        foreach (var identifier in request.Identifiers)
        {
            // Under every configured key and normalization version, the active one first: during and after a key
            // rotation a customer last seen under the previous key is found as ingest's consent lookups find them.
            var all = pseudonymizer.LookupPseudonyms(identifier.Type, identifier.Value);
            if (all.Count == 0)
            {
                continue;
            }

            if (pseudonymizer.TryPseudonymize(identifier.Type, request.RecordId, out var ofRecordId) && ofRecordId == all[0])
            {
                return null;
            }

            foreach (var pseudonym in all)
            {
                if (!pseudonyms.Contains(pseudonym, StringComparer.Ordinal))
                {
                    pseudonyms.Add(pseudonym);
                }
            }
        }

        return new PseudonymousRequest(request.ListId, request.RecordId, request.RequestedBy, pseudonyms, request.SegmentId);
    }

    /// <summary>
    /// The answer to <paramref name="request"/>, given what its pseudonyms are linked to and the published segments of
    /// those profiles. Matched only when at least one identifier is linked, all linked identifiers are one profile, that
    /// profile allows personalization, it has a published segment, and that segment is the one asked for (if any).
    /// </summary>
    public static ActivationAnswer Answer(
        PseudonymousRequest request, IReadOnlyDictionary<string, LinkedProfile> profiles, IReadOnlyDictionary<string, PublishedSegment> segments)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(profiles);
        ArgumentNullException.ThrowIfNull(segments);
        LinkedProfile? profile = null;
        var usable = true;
        foreach (var pseudonym in request.Pseudonyms)
        {
            if (!profiles.TryGetValue(pseudonym, out var linked))
            {
                continue;
            }

            // Consent first: one opted-out link is enough to say nothing. Identifiers of two profiles are two people as
            // far as Streams knows; naming either would be a guess.
            usable &= linked.PersonalizationAllowed && (profile is null || profile.ProfileId == linked.ProfileId);
            profile = linked;
        }

        var segment = usable && profile is not null && segments.TryGetValue(profile.ProfileId, out var published)
            && (request.SegmentId is null || request.SegmentId == published.SegmentId)
                ? published
                : null;
        return new ActivationAnswer(System.Text.Encoding.UTF8.GetBytes(request.RecordId), Write(request, segment), segment?.SegmentId);
    }

    /// <summary>
    /// The response value: the same fields in the same order whatever the outcome, and nothing that differs between the
    /// kinds of "unknown" (no time, no profile id, no count).
    /// </summary>
    internal static byte[] Write(PseudonymousRequest request, PublishedSegment? segment)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("record_id", request.RecordId);
            w.WriteString("list_id", request.ListId);
            w.WriteString("status", segment is null ? "unknown" : "matched");
            if (segment is null)
            {
                w.WriteNull("segment_id");
                w.WriteNull("model_version");
                w.WriteNull("summary");
            }
            else
            {
                w.WriteNumber("segment_id", segment.SegmentId);
                w.WriteNumber("model_version", segment.ModelVersion);
                w.WriteString("summary", segment.Summary);
            }

            w.WriteBoolean("personalization_allowed", segment is not null);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
