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

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    [ThreadStatic]
    private static PropertyNames? names;

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
            // Whatever the reader throws (a lone surrogate in a name, a number it cannot convert), the record is unusable.
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

        try
        {
            var reader = new Utf8JsonReader(value, ReaderOptions);
            return ReadProfile(ref reader, id, names ??= new PropertyNames(), out reason);
        }
        catch (JsonException)
        {
            reason = new QuarantineReason(ReasonCodes.MalformedJson, null,
                "is not well-formed JSON, has a duplicate field or nests deeper than 64 levels");
            return null;
        }
    }

    /// <summary>
    /// One pass over the record. The whole record is read before any field's problem is reported, so a record that is
    /// not well-formed anywhere (syntax, a duplicate field at any depth, nesting) is <c>malformed_json</c> whatever else is
    /// wrong with it, and the other problems are reported in the order profile id, consent, features.
    /// </summary>
    private static ProfileUpdate? ReadProfile(ref Utf8JsonReader reader, string id, PropertyNames names, out QuarantineReason? reason)
    {
        reason = null;
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            SkipValue(ref reader, names, 0);
            ReadEnd(ref reader);
            reason = new QuarantineReason(ReasonCodes.MalformedJson, null, "is not a JSON object");
            return null;
        }

        var seen = names.Level(0);
        var idMatches = false;
        JsonTokenType? allowed = null;
        Dictionary<string, double>? features = null;
        QuarantineReason? featuresReason = Violation(ProfileRecordNames.Features, "must be an object");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = names.Read(ref reader);
            Unique(seen.Add(name));
            reader.Read();
            switch (name)
            {
                case ProfileRecordNames.ProfileId:
                    idMatches = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(id);
                    break;
                case ProfileRecordNames.PersonalizationAllowed when reader.TokenType is JsonTokenType.True or JsonTokenType.False:
                    allowed = reader.TokenType;
                    break;
                case ProfileRecordNames.Features when reader.TokenType == JsonTokenType.StartObject:
                    features = ReadFeatures(ref reader, names, out featuresReason);
                    continue;
            }

            SkipValue(ref reader, names, 1);
        }

        ReadEnd(ref reader);
        reason = !idMatches ? Violation(ProfileRecordNames.ProfileId, "must be a string equal to the record's key")
            : allowed is null ? Violation(ProfileRecordNames.PersonalizationAllowed, "must be true or false")
            : featuresReason;
        return reason is null ? new ProfileUpdate(id, features, allowed == JsonTokenType.True) : null;
    }

    // The features object, the reader on its start; every name is read (a duplicate is malformed JSON even after a problem).
    private static Dictionary<string, double> ReadFeatures(ref Utf8JsonReader reader, PropertyNames names, out QuarantineReason? reason)
    {
        reason = null;
        var values = new Dictionary<string, double>(32, StringComparer.Ordinal);
        var count = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = names.Read(ref reader);
            reader.Read();
            var number = 0d;
            if (reason is not null)
            {
                // A problem is already known: only the rest of the record's form still matters.
            }
            else if (count == MaxFeatures)
            {
                reason = Violation(ProfileRecordNames.Features, $"must have at most {MaxFeatures} features");
            }
            else if (name.Length is 0 or > MaxFeatureNameLength)
            {
                reason = Violation(ProfileRecordNames.Features, $"names must be 1–{MaxFeatureNameLength} characters");
            }
            else if (reader.TokenType != JsonTokenType.Number)
            {
                reason = Violation(ProfileRecordNames.Features, "must all be numbers");
            }
            // TryGetDouble refuses what does not fit a double (1e400); the bound keeps the model's sums finite.
            else if (!reader.TryGetDouble(out number) || !double.IsFinite(number) || Math.Abs(number) > MaxFeatureMagnitude)
            {
                reason = new QuarantineReason(ReasonCodes.OutOfRange, ProfileRecordNames.Features, "must be finite numbers of magnitude at most 1e30");
            }
            else
            {
                count++;
            }

            SkipValue(ref reader, names, 2);
            Unique(values.TryAdd(name, number));
        }

        return values;
    }

    // Skips the value the reader is on, checking that no object in it repeats a name.
    private static void SkipValue(ref Utf8JsonReader reader, PropertyNames names, int depth)
    {
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            var seen = names.Level(depth);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                Unique(seen.Add(names.Read(ref reader)));
                reader.Read();
                SkipValue(ref reader, names, depth + 1);
            }
        }
        else if (reader.TokenType == JsonTokenType.StartArray)
        {
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                SkipValue(ref reader, names, depth + 1);
            }
        }
    }

    // Nothing but white space may follow the record's value (the reader throws on anything else).
    private static void ReadEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException("More than one JSON value.");
        }
    }

    private static void Unique(bool added)
    {
        if (!added)
        {
            throw new JsonException("A duplicate property name.");
        }
    }

    /// <summary>
    /// Property names as strings without a new string for the names the profiles worker writes on every record (a bounded
    /// pool of names seen before), and one reusable set per depth for finding duplicates.
    /// </summary>
    private sealed class PropertyNames
    {
        private const int MaxPooled = 1024;
        private readonly Dictionary<string, string> pool = new(StringComparer.Ordinal);
        private readonly List<HashSet<string>> levels = [];

        public HashSet<string> Level(int depth)
        {
            while (levels.Count <= depth)
            {
                levels.Add(new HashSet<string>(StringComparer.Ordinal));
            }

            var level = levels[depth];
            level.Clear();
            return level;
        }

        public string Read(ref Utf8JsonReader reader)
        {
            // A name of up to MaxFeatureNameLength bytes has at most as many characters, escaped or not.
            if (reader.ValueSpan.Length > MaxFeatureNameLength)
            {
                return reader.GetString()!;
            }

            Span<char> buffer = stackalloc char[MaxFeatureNameLength];
            var name = buffer[..reader.CopyString(buffer)];
            var lookup = pool.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(name, out var pooled))
            {
                return pooled;
            }

            var text = name.ToString();
            if (pool.Count < MaxPooled)
            {
                pool.Add(text, text);
            }

            return text;
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
