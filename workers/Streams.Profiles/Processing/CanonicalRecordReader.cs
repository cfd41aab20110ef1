using System.Text.Json;
using Streams.Contracts;
using Streams.Contracts.Canonical;
using Streams.Contracts.Outputs;
using Streams.Contracts.Quarantine;
using Streams.Profiles.Features;

namespace Streams.Profiles.Processing;

/// <summary>
/// Understands one record of the canonical topic, whatever its bytes: an <see cref="EventItem"/> or a
/// <see cref="ConsentItem"/> in the shape ingest writes, within the limits below, or an <see cref="InvalidItem"/> with a
/// CONTRACT §4 reason. Nothing thrown while reading gets out: the topic is internal, but a record ingest never wrote
/// (a forged one, another producer's, a corrupted one) must cost one quarantine record, not the worker.
/// </summary>
/// <remarks>
/// The limits are those of what ingest writes, with room to spare; each is an upper bound of ingest's own for the same
/// field, so a record ingest wrote always passes. They also bound what the worker stores and publishes about a record:
/// the identity-conflict quarantine record copies the canonical event.
/// </remarks>
public static class CanonicalRecordReader
{
    /// <summary>Largest canonical value read (Ingest:MaxRecordBytes' default: ingest writes none larger).</summary>
    public const int MaxRecordBytes = 1024 * 1024;

    /// <summary>Most characters of an event id (CONTRACT §2).</summary>
    public const int MaxEventIdLength = 128;

    /// <summary>Most identifiers of one event (ingest writes at most three: loyalty, email and phone of a sale).</summary>
    public const int MaxIdentifiers = 16;

    /// <summary>Most flags of one event (ingest knows three flag codes).</summary>
    public const int MaxFlags = 16;

    /// <summary>Most categories of one sale (a receipt has at most 1000 items, CONTRACT §2.2 and README).</summary>
    public const int MaxCategories = 1000;

    /// <summary>Most characters of any other text field (categories, store id, currency, enum names).</summary>
    public const int MaxTextLength = 256;

    /// <summary>Kafka's own limit on a topic name.</summary>
    private const int MaxTopicLength = 249;

    private static readonly JsonReaderOptions SyntaxOptions = new() { MaxDepth = 64 };

    /// <summary>What a Kafka topic name is made of.</summary>
    private static readonly System.Buffers.SearchValues<char> TopicCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

    /// <summary>Reads the value of the record at <paramref name="position"/>, of kind <paramref name="kind"/> (the
    /// <c>streams-kind</c> header as <see cref="OutputHeaders.ReadKind"/> gives it).</summary>
    public static BatchItem Read(SourcePosition position, byte[]? value, string? kind)
    {
        ArgumentNullException.ThrowIfNull(position);
        var raw = value ?? [];
        try
        {
            var (item, eventId, reason) = Understand(position, raw, kind);
            return item ?? new InvalidItem(position, eventId, reason!, raw.Length, InternalQuarantineRecord.Digest(raw));
        }
        catch (Exception)
        {
            // A reader bug must not stop the worker either; the record goes to quarantine like any unreadable one.
            return new InvalidItem(position, null, new QuarantineReason(ReasonCodes.SchemaViolation, null, "could not be read as a canonical record"),
                raw.Length, InternalQuarantineRecord.Digest(raw));
        }
    }

    private static (BatchItem? Item, string? EventId, QuarantineReason? Reason) Understand(SourcePosition position, byte[] raw, string? kind)
    {
        if (kind is null)
        {
            return Reject(ReasonCodes.SchemaViolation, "headers", "has no streams-kind or streams-source header");
        }

        if (kind is not (OutputHeaders.KindEvent or OutputHeaders.KindConsent))
        {
            // Not quoted: a header can hold anything, of any size.
            return Reject(ReasonCodes.SchemaViolation, "headers", "has a streams-kind header that is neither event nor consent");
        }

        if (raw.Length == 0)
        {
            return Reject(ReasonCodes.SchemaViolation, null, "has no value");
        }

        if (raw.Length > MaxRecordBytes)
        {
            return Reject(ReasonCodes.OversizedRecord, null, $"is larger than {MaxRecordBytes} bytes");
        }

        if (kind == OutputHeaders.KindConsent)
        {
            var consent = Parse(raw, static r => CanonicalJson.DeserializeConsentCommand(r), out var parseFailure);
            if (consent is null)
            {
                return Reject(parseFailure!);
            }

            var eventId = ValidEventId(consent.EventId);
            var problem = Check(consent, eventId);
            return problem is null ? (new ConsentItem(position, consent), eventId, null) : (null, eventId, problem);
        }
        else
        {
            var e = Parse(raw, static r => CanonicalJson.DeserializeCanonicalEvent(r), out var parseFailure);
            if (e is null)
            {
                return Reject(parseFailure!);
            }

            var eventId = ValidEventId(e.EventId);
            var problem = Check(e, eventId);
            return problem is null ? (new EventItem(position, e), eventId, null) : (null, eventId, problem);
        }
    }

    /// <summary>The parsed value, or null with the reason: <c>malformed_json</c> for bytes that are not one JSON object,
    /// <c>schema_violation</c> for an object of the wrong shape (a missing field, a wrong type, a lone surrogate).</summary>
    private static T? Parse<T>(byte[] raw, Func<byte[], T?> deserialize, out QuarantineReason? failure)
        where T : class
    {
        failure = null;
        try
        {
            if (deserialize(raw) is { } value)
            {
                return value;
            }
        }
        catch (Exception)
        {
            // Which exception the serializer throws (JsonException, InvalidOperationException for a lone surrogate,
            // FormatException, ArgumentException, …) is its business; the verdict below is ours.
        }

        failure = Classify(raw);
        return null;
    }

    /// <summary>Why bytes the serializer refused are not a canonical record, judged from the JSON tokens alone.</summary>
    private static QuarantineReason Classify(byte[] raw)
    {
        if (!System.Text.Unicode.Utf8.IsValid(raw))
        {
            return new QuarantineReason(ReasonCodes.MalformedJson, null, "is not valid UTF-8");
        }

        var outOfRange = false;
        try
        {
            var reader = new Utf8JsonReader(raw, SyntaxOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return new QuarantineReason(ReasonCodes.MalformedJson, null, "is not a JSON object");
            }

            while (reader.Read())
            {
                // A number no double holds (1e400), or an integer no long holds, is out of range rather than of the wrong type.
                outOfRange |= reader.TokenType == JsonTokenType.Number
                    && (!reader.TryGetDouble(out var number) || !double.IsFinite(number)
                        || (reader.ValueSpan.IndexOfAny(".eE"u8) < 0 && !reader.TryGetInt64(out _)));
            }
        }
        catch (JsonException)
        {
            return new QuarantineReason(ReasonCodes.MalformedJson, null, "is not one well-formed JSON object nesting at most 64 levels");
        }

        return outOfRange
            ? new QuarantineReason(ReasonCodes.OutOfRange, null, "has a number beyond the range of its type")
            : new QuarantineReason(ReasonCodes.SchemaViolation, null,
                "is not a canonical record: a field is missing, has the wrong type or is not valid text");
    }

    private static QuarantineReason? Check(CanonicalEvent e, string? eventId)
    {
        if (eventId is null)
        {
            return Violation("event_id", $"must be 1–{MaxEventIdLength} characters");
        }

        if (!Enum.IsDefined(e.Channel) || e.Channel == Channel.Consent || !ProfileAggregate.CanApply(e))
        {
            return Violation("channel", "must name an event channel whose section is present");
        }

        if (e.OccurredAt == default)
        {
            return Violation("occurred_at", "is missing");
        }

        if (CheckSource(e.Source) is { } source)
        {
            return source;
        }

        if (e.Identifiers is null || e.Identifiers.Count > MaxIdentifiers)
        {
            return Violation("identifiers", $"must be a list of at most {MaxIdentifiers} identifiers");
        }

        // By index, here and below: foreach over the interface (or LINQ) boxes an enumerator, and this runs for every event.
        for (var k = 0; k < e.Identifiers.Count; k++)
        {
            var identifier = e.Identifiers[k];
            if (identifier is null || !Enum.IsDefined(identifier.Type) || !WellFormed(identifier.Pseudonym)
                || (identifier.Previous is not null && !WellFormed(identifier.Previous)))
            {
                return Violation("identifiers", "must each have a known type and a pseudonym of 1–128 visible ASCII characters");
            }
        }

        if (e.Flags is null || e.Flags.Count > MaxFlags || !AllText(e.Flags, 64))
        {
            return Violation("flags", $"must be a list of at most {MaxFlags} codes");
        }

        return e.Channel switch
        {
            Channel.Clickstream => Check(e.Clickstream!),
            Channel.Store => Check(e.Store!),
            Channel.Callcenter => Check(e.Callcenter!),
            _ => Check(e.Social!),
        };
    }

    private static QuarantineReason? Check(ClickstreamAttributes c)
    {
        if (!Text(c.EventType) || !Text(c.DeviceClass) || !OptionalText(c.PageCategory) || !OptionalText(c.Currency))
        {
            return TextViolation("clickstream");
        }

        if (c.DwellMs is < 0)
        {
            return OutOfRange("clickstream.dwell_ms", "must be ≥ 0");
        }

        return c.Revenue is { } revenue && !NonNegative(revenue) ? OutOfRange("clickstream.revenue", "must be a finite number ≥ 0") : null;
    }

    private static QuarantineReason? Check(StoreAttributes s)
    {
        if (!Text(s.StoreId) || !Text(s.Currency) || !OptionalText(s.Payment))
        {
            return TextViolation("store");
        }

        if (!NonNegative(s.Total))
        {
            return OutOfRange("store.total", "must be a finite number ≥ 0");
        }

        if (s.DiscountPct is { } discount && !(discount is >= 0 and <= 100))
        {
            return OutOfRange("store.discount_pct", "must be 0–100");
        }

        if (s.ItemCount < 0)
        {
            return OutOfRange("store.item_count", "must be ≥ 0");
        }

        if (s.Categories is null || s.Categories.Count > MaxCategories)
        {
            return Violation("store.categories", $"must be a list of at most {MaxCategories} categories");
        }

        for (var i = 0; i < s.Categories.Count; i++)
        {
            var category = s.Categories[i];
            if (category is null || !Text(category.Category))
            {
                return TextViolation("store.categories");
            }

            if (category.Quantity < 0 || !NonNegative(category.Amount))
            {
                return OutOfRange("store.categories", "quantity and amount must be ≥ 0 and finite");
            }
        }

        return null;
    }

    private static QuarantineReason? Check(CallcenterAttributes c)
    {
        if (!Text(c.Reason))
        {
            return TextViolation("callcenter");
        }

        if (c.DurationS < 0)
        {
            return OutOfRange("callcenter.duration_s", "must be ≥ 0");
        }

        return Sentiment(c.Sentiment) ? null : OutOfRange("callcenter.sentiment", "must be −1…1");
    }

    private static QuarantineReason? Check(SocialAttributes s)
    {
        if (!Text(s.Platform) || !Text(s.Interaction))
        {
            return TextViolation("social");
        }

        if (s.Sentiment is { } sentiment && !Sentiment(sentiment))
        {
            return OutOfRange("social.sentiment", "must be −1…1");
        }

        return s.Followers is < 0 ? OutOfRange("social.followers", "must be ≥ 0") : null;
    }

    private static QuarantineReason? Check(ConsentCommand c, string? eventId)
    {
        if (eventId is null)
        {
            return Violation("event_id", $"must be 1–{MaxEventIdLength} characters");
        }

        if (eventId.Contains('\0', StringComparison.Ordinal))
        {
            // The consent audit stores it, and PostgreSQL text cannot hold U+0000: the insert would fail on every retry.
            return Violation("event_id", "of a consent request must not contain U+0000");
        }

        if (c.OccurredAt == default)
        {
            return Violation("occurred_at", "is missing");
        }

        if (!Enum.IsDefined(c.IdentifierType) || !WellFormed(c.Pseudonym))
        {
            return Violation("pseudonym", "must have a known type and 1–128 visible ASCII characters");
        }

        if (c.OtherPseudonyms is { } others && (others.Count > MaxIdentifiers || others.Any(o => !WellFormed(o))))
        {
            return Violation("other_pseudonyms", $"must be at most {MaxIdentifiers} pseudonyms of 1–128 visible ASCII characters");
        }

        return !Enum.IsDefined(c.Action) ? Violation("action", "must be opt_out, opt_in or erase") : CheckSource(c.Source);
    }

    /// <summary>The source names an input topic: it must be a legal Kafka topic name, since an identity conflict is
    /// quarantined next to it.</summary>
    private static QuarantineReason? CheckSource(SourcePosition? source) =>
        source is { Topic: { Length: > 0 and <= MaxTopicLength } topic, Partition: >= 0, Offset: >= 0 }
        && !topic.AsSpan().ContainsAnyExcept(TopicCharacters)
            ? null
            : Violation("source", "must name a topic, a partition ≥ 0 and an offset ≥ 0");

    /// <summary>The event id when it is 1–<see cref="MaxEventIdLength"/> characters (a surrogate pair counts once).</summary>
    private static string? ValidEventId(string? eventId)
    {
        if (eventId is not { Length: > 0 and <= 2 * MaxEventIdLength })
        {
            return null;
        }

        var count = 0;
        for (var i = 0; i < eventId.Length; i++)
        {
            if (char.IsHighSurrogate(eventId[i]) && i + 1 < eventId.Length && char.IsLowSurrogate(eventId[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(eventId[i]))
            {
                return null;
            }

            count++;
        }

        return count <= MaxEventIdLength ? eventId : null;
    }

    /// <summary>
    /// A pseudonym as ingest writes them (CONTRACT §3: key id, ':', 32 hex digits), loosely: 1–128 visible ASCII
    /// characters. Anything else is a record ingest never wrote; the profile rows also rely on it (no spaces).
    /// </summary>
    internal static bool WellFormed(string? pseudonym)
    {
        if (pseudonym is not { Length: > 0 and <= 128 })
        {
            return false;
        }

        foreach (var c in pseudonym)
        {
            if (c is <= ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    private static bool Text(string? value, int max = MaxTextLength) => value is not null && value.Length <= max;

    private static bool AllText(IReadOnlyList<string> values, int max)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (!Text(values[i], max))
            {
                return false;
            }
        }

        return true;
    }

    private static bool OptionalText(string? value) => value is null || value.Length <= MaxTextLength;

    private static bool NonNegative(double value) => double.IsFinite(value) && value >= 0;

    private static bool Sentiment(double value) => value is >= -1 and <= 1;

    private static QuarantineReason Violation(string field, string detail) => new(ReasonCodes.SchemaViolation, field, detail);

    private static QuarantineReason TextViolation(string field) =>
        Violation(field, $"a text field is missing or longer than {MaxTextLength} characters");

    private static QuarantineReason OutOfRange(string field, string detail) => new(ReasonCodes.OutOfRange, field, detail);

    private static (BatchItem?, string?, QuarantineReason?) Reject(QuarantineReason reason) => (null, null, reason);

    private static (BatchItem?, string?, QuarantineReason?) Reject(string code, string? field, string detail) => (null, null, new(code, field, detail));
}
