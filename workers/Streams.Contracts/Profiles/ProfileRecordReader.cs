using System.Text;
using System.Text.Json;
using Streams.Contracts.Quarantine;

namespace Streams.Contracts.Profiles;

/// <summary>A profile as the segmentation worker reads it from the <c>profiles</c> topic.</summary>
/// <param name="ProfileId">The profile.</param>
/// <param name="Features">Its features; null for a tombstone (erased or merged away).</param>
/// <param name="PersonalizationAllowed">Consent: false means no centroid update and no assignment.</param>
public sealed record ProfileUpdate(string ProfileId, IReadOnlyDictionary<string, double>? Features, bool PersonalizationAllowed);

/// <summary>
/// Understands one record of the <c>profiles</c> topic, whatever its bytes: a profile (CONTRACT §5.1) or a tombstone
/// becomes a <see cref="ProfileUpdate"/>; anything else gets a CONTRACT §4 reason and goes to <c>profiles.quarantine</c>.
/// Nothing thrown while reading gets out: the topic is the profiles worker's, but a record it never wrote (a forged one,
/// another producer's) must cost one quarantine record, not the worker, and must not reach the model's maths.
/// </summary>
public static class ProfileRecordReader
{
    /// <summary>Largest profile value read (the producer's default message limit: the profiles worker writes none larger).</summary>
    public const int MaxRecordBytes = 1024 * 1024;

    /// <summary>Most characters of a profile id (the profiles worker's are 26).</summary>
    public const int MaxProfileIdLength = 128;

    /// <summary>Most features of one profile (the profiles worker writes 26).</summary>
    public const int MaxFeatures = 256;

    /// <summary>Most characters of a feature name.</summary>
    public const int MaxFeatureNameLength = 128;

    /// <summary>
    /// Largest magnitude of a feature. The profiles worker's sums stop at 10^27 (ProfileAggregate.MaxSum); beyond 10^30 a
    /// value is forged, and its square in the running variance would head for the edge of the double range.
    /// </summary>
    public const double MaxFeatureMagnitude = 1e30;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    /// <summary>The update of the record with <paramref name="key"/> and <paramref name="value"/> (null for a tombstone), or
    /// null and the reason it cannot be used.</summary>
    public static ProfileUpdate? Read(byte[]? key, byte[]? value, out QuarantineReason? reason)
    {
        try
        {
            return Understand(key, value, out reason);
        }
        catch (Exception)
        {
            // Whatever the parser throws (a lone surrogate in a name, a number it cannot convert), the record is unusable.
            reason = Violation(null, "could not be read as a profile");
            return null;
        }
    }

    private static ProfileUpdate? Understand(byte[]? key, byte[]? value, out QuarantineReason? reason)
    {
        reason = null;
        var id = ProfileId(key);
        if (id is null)
        {
            reason = Violation("key", $"must be the profile id: 1–{MaxProfileIdLength} visible ASCII characters");
            return null;
        }

        if (value is null)
        {
            return new ProfileUpdate(id, null, false);
        }

        if (value.Length > MaxRecordBytes)
        {
            reason = new QuarantineReason(ReasonCodes.OversizedRecord, null, $"is larger than {MaxRecordBytes} bytes");
            return null;
        }

        if (!System.Text.Unicode.Utf8.IsValid(value))
        {
            reason = new QuarantineReason(ReasonCodes.MalformedJson, null, "is not valid UTF-8");
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(value, DocumentOptions);
        }
        catch (JsonException)
        {
            reason = new QuarantineReason(ReasonCodes.MalformedJson, null,
                "is not well-formed JSON, has a duplicate field or nests deeper than 64 levels");
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                reason = new QuarantineReason(ReasonCodes.MalformedJson, null, "is not a JSON object");
                return null;
            }

            if (!root.TryGetProperty(ProfileRecordNames.ProfileId, out var profileId) || profileId.ValueKind != JsonValueKind.String
                || !profileId.ValueEquals(id))
            {
                reason = Violation(ProfileRecordNames.ProfileId, "must be a string equal to the record's key");
                return null;
            }

            if (!root.TryGetProperty(ProfileRecordNames.PersonalizationAllowed, out var allowed) || allowed.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                reason = Violation(ProfileRecordNames.PersonalizationAllowed, "must be true or false");
                return null;
            }

            if (!root.TryGetProperty(ProfileRecordNames.Features, out var features) || features.ValueKind != JsonValueKind.Object)
            {
                reason = Violation(ProfileRecordNames.Features, "must be an object");
                return null;
            }

            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var feature in features.EnumerateObject())
            {
                if (values.Count == MaxFeatures)
                {
                    reason = Violation(ProfileRecordNames.Features, $"must have at most {MaxFeatures} features");
                    return null;
                }

                var name = feature.Name;
                if (name.Length is 0 or > MaxFeatureNameLength)
                {
                    reason = Violation(ProfileRecordNames.Features, $"names must be 1–{MaxFeatureNameLength} characters");
                    return null;
                }

                if (feature.Value.ValueKind != JsonValueKind.Number)
                {
                    reason = Violation(ProfileRecordNames.Features, "must all be numbers");
                    return null;
                }

                // TryGetDouble refuses what does not fit a double (1e400); the bound keeps the model's sums finite.
                if (!feature.Value.TryGetDouble(out var number) || !double.IsFinite(number) || Math.Abs(number) > MaxFeatureMagnitude)
                {
                    reason = new QuarantineReason(ReasonCodes.OutOfRange, ProfileRecordNames.Features, "must be finite numbers of magnitude at most 1e30");
                    return null;
                }

                values[name] = number;
            }

            return new ProfileUpdate(id, values, allowed.ValueKind == JsonValueKind.True);
        }
    }

    /// <summary>The key as a profile id: strict UTF-8 of 1–<see cref="MaxProfileIdLength"/> visible ASCII characters, or null.</summary>
    private static string? ProfileId(byte[]? key)
    {
        if (key is not { Length: > 0 and <= MaxProfileIdLength })
        {
            return null;
        }

        foreach (var b in key)
        {
            if (b is <= (byte)' ' or > (byte)'~')
            {
                return null;
            }
        }

        return StrictUtf8.GetString(key);
    }

    private static QuarantineReason Violation(string? field, string detail) => new(ReasonCodes.SchemaViolation, field, detail);
}
