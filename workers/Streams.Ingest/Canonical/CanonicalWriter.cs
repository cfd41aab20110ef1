using System.Buffers;
using System.Text.Json;
using Streams.Ingest.Pseudonymization;

namespace Streams.Ingest.Canonical;

/// <summary>
/// Writes canonical events and consent commands in one pass with a reused <see cref="Utf8JsonWriter"/>: the bytes the
/// source-generated serializer writes for them (<see cref="CanonicalJsonContext"/>, which stays the reference and is
/// held to these bytes by tests), without its metadata path. The serializer's converter pipeline cannot take its fast
/// path here because of the UTC timestamp converter, and serialization was 0.7–4 µs of every record.
/// </summary>
internal static class CanonicalWriter
{
    [ThreadStatic]
    private static (ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer)? cached;

    private static readonly JsonEncodedText ChannelField = JsonEncodedText.Encode("channel");
    private static readonly JsonEncodedText EventId = JsonEncodedText.Encode("event_id");
    private static readonly JsonEncodedText OccurredAt = JsonEncodedText.Encode("occurred_at");
    private static readonly JsonEncodedText Identifiers = JsonEncodedText.Encode("identifiers");
    private static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText Pseudonym = JsonEncodedText.Encode("pseudonym");
    private static readonly JsonEncodedText Previous = JsonEncodedText.Encode("previous");
    private static readonly JsonEncodedText Flags = JsonEncodedText.Encode("flags");
    private static readonly JsonEncodedText Source = JsonEncodedText.Encode("source");
    private static readonly JsonEncodedText Topic = JsonEncodedText.Encode("topic");
    private static readonly JsonEncodedText Partition = JsonEncodedText.Encode("partition");
    private static readonly JsonEncodedText Offset = JsonEncodedText.Encode("offset");
    private static readonly JsonEncodedText ClickstreamField = JsonEncodedText.Encode("clickstream");
    private static readonly JsonEncodedText EventType = JsonEncodedText.Encode("event_type");
    private static readonly JsonEncodedText PageCategory = JsonEncodedText.Encode("page_category");
    private static readonly JsonEncodedText DwellMs = JsonEncodedText.Encode("dwell_ms");
    private static readonly JsonEncodedText Revenue = JsonEncodedText.Encode("revenue");
    private static readonly JsonEncodedText Currency = JsonEncodedText.Encode("currency");
    private static readonly JsonEncodedText DeviceClass = JsonEncodedText.Encode("device_class");
    private static readonly JsonEncodedText StoreField = JsonEncodedText.Encode("store");
    private static readonly JsonEncodedText StoreId = JsonEncodedText.Encode("store_id");
    private static readonly JsonEncodedText Total = JsonEncodedText.Encode("total");
    private static readonly JsonEncodedText DiscountPct = JsonEncodedText.Encode("discount_pct");
    private static readonly JsonEncodedText ItemCount = JsonEncodedText.Encode("item_count");
    private static readonly JsonEncodedText Categories = JsonEncodedText.Encode("categories");
    private static readonly JsonEncodedText Category = JsonEncodedText.Encode("category");
    private static readonly JsonEncodedText Quantity = JsonEncodedText.Encode("quantity");
    private static readonly JsonEncodedText Amount = JsonEncodedText.Encode("amount");
    private static readonly JsonEncodedText Payment = JsonEncodedText.Encode("payment");
    private static readonly JsonEncodedText CallcenterField = JsonEncodedText.Encode("callcenter");
    private static readonly JsonEncodedText Reason = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText DurationS = JsonEncodedText.Encode("duration_s");
    private static readonly JsonEncodedText Sentiment = JsonEncodedText.Encode("sentiment");
    private static readonly JsonEncodedText Resolved = JsonEncodedText.Encode("resolved");
    private static readonly JsonEncodedText SocialField = JsonEncodedText.Encode("social");
    private static readonly JsonEncodedText Platform = JsonEncodedText.Encode("platform");
    private static readonly JsonEncodedText Interaction = JsonEncodedText.Encode("interaction");
    private static readonly JsonEncodedText Followers = JsonEncodedText.Encode("followers");
    private static readonly JsonEncodedText IdentifierTypeField = JsonEncodedText.Encode("identifier_type");
    private static readonly JsonEncodedText Action = JsonEncodedText.Encode("action");
    private static readonly JsonEncodedText OtherPseudonyms = JsonEncodedText.Encode("other_pseudonyms");

    public static byte[] Write(CanonicalEvent value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var (buffer, writer) = Rent();
        writer.WriteStartObject();
        writer.WriteString(ChannelField, ChannelName(value.Channel));
        writer.WriteString(EventId, value.EventId);
        writer.WriteString(OccurredAt, value.OccurredAt.UtcDateTime);
        writer.WriteStartArray(Identifiers);
        foreach (var identifier in value.Identifiers)
        {
            writer.WriteStartObject();
            writer.WriteString(Type, TypeName(identifier.Type));
            writer.WriteString(Pseudonym, identifier.Pseudonym);
            if (identifier.Previous is { } previous)
            {
                writer.WriteString(Previous, previous);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray(Flags);
        foreach (var flag in value.Flags)
        {
            writer.WriteStringValue(flag);
        }

        writer.WriteEndArray();
        WriteSource(writer, value.Source);
        if (value.Clickstream is { } click)
        {
            writer.WriteStartObject(ClickstreamField);
            writer.WriteString(EventType, click.EventType);
            OptionalString(writer, PageCategory, click.PageCategory);
            OptionalNumber(writer, DwellMs, click.DwellMs);
            OptionalNumber(writer, Revenue, click.Revenue);
            OptionalString(writer, Currency, click.Currency);
            writer.WriteString(DeviceClass, click.DeviceClass);
            writer.WriteEndObject();
        }

        if (value.Store is { } store)
        {
            writer.WriteStartObject(StoreField);
            writer.WriteString(StoreId, store.StoreId);
            writer.WriteNumber(Total, store.Total);
            writer.WriteString(Currency, store.Currency);
            OptionalNumber(writer, DiscountPct, store.DiscountPct);
            writer.WriteNumber(ItemCount, store.ItemCount);
            writer.WriteStartArray(Categories);
            foreach (var category in store.Categories)
            {
                writer.WriteStartObject();
                writer.WriteString(Category, category.Category);
                writer.WriteNumber(Quantity, category.Quantity);
                writer.WriteNumber(Amount, category.Amount);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            OptionalString(writer, Payment, store.Payment);
            writer.WriteEndObject();
        }

        if (value.Callcenter is { } call)
        {
            writer.WriteStartObject(CallcenterField);
            writer.WriteString(Reason, call.Reason);
            writer.WriteNumber(DurationS, call.DurationS);
            writer.WriteNumber(Sentiment, call.Sentiment);
            writer.WriteBoolean(Resolved, call.Resolved);
            writer.WriteEndObject();
        }

        if (value.Social is { } social)
        {
            writer.WriteStartObject(SocialField);
            writer.WriteString(Platform, social.Platform);
            writer.WriteString(Interaction, social.Interaction);
            OptionalNumber(writer, Sentiment, social.Sentiment);
            OptionalNumber(writer, Followers, social.Followers);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        return Finish(buffer, writer);
    }

    public static byte[] Write(ConsentCommand value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var (buffer, writer) = Rent();
        writer.WriteStartObject();
        writer.WriteString(EventId, value.EventId);
        writer.WriteString(OccurredAt, value.OccurredAt.UtcDateTime);
        writer.WriteString(IdentifierTypeField, TypeName(value.IdentifierType));
        writer.WriteString(Pseudonym, value.Pseudonym);
        writer.WriteString(Action, value.Action switch
        {
            ConsentAction.OptOut => "opt_out",
            ConsentAction.OptIn => "opt_in",
            ConsentAction.Erase => "erase",
            _ => throw new ArgumentOutOfRangeException(nameof(value), value.Action, null),
        });
        WriteSource(writer, value.Source);
        if (value.OtherPseudonyms is { } others)
        {
            writer.WriteStartArray(OtherPseudonyms);
            foreach (var other in others)
            {
                writer.WriteStringValue(other);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
        return Finish(buffer, writer);
    }

    private static (ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer) Rent()
    {
        if (cached is not { } pair)
        {
            var buffer = new ArrayBufferWriter<byte>(1024);
            pair = (buffer, new Utf8JsonWriter(buffer));
            cached = pair;
        }

        pair.Buffer.ResetWrittenCount();
        pair.Writer.Reset(pair.Buffer);
        return pair;
    }

    private static byte[] Finish(ArrayBufferWriter<byte> buffer, Utf8JsonWriter writer)
    {
        writer.Flush();
        var bytes = buffer.WrittenSpan.ToArray();
        // A rare huge record must not keep its buffer alive in the thread for good.
        if (buffer.Capacity > 64 * 1024)
        {
            cached = null;
        }

        return bytes;
    }

    private static void WriteSource(Utf8JsonWriter writer, SourcePosition source)
    {
        writer.WriteStartObject(Source);
        writer.WriteString(Topic, source.Topic);
        writer.WriteNumber(Partition, source.Partition);
        writer.WriteNumber(Offset, source.Offset);
        writer.WriteEndObject();
    }

    private static void OptionalString(Utf8JsonWriter writer, JsonEncodedText name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static void OptionalNumber(Utf8JsonWriter writer, JsonEncodedText name, double? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
    }

    private static void OptionalNumber(Utf8JsonWriter writer, JsonEncodedText name, long? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
    }

    private static string ChannelName(Channel channel) => channel switch
    {
        Channel.Clickstream => "clickstream",
        Channel.Store => "store",
        Channel.Callcenter => "callcenter",
        Channel.Social => "social",
        Channel.Consent => "consent",
        _ => throw new ArgumentOutOfRangeException(nameof(channel), channel, null),
    };

    private static string TypeName(IdentifierType type) => type switch
    {
        IdentifierType.Email => "email",
        IdentifierType.Phone => "phone",
        IdentifierType.Loyalty => "loyalty",
        IdentifierType.Device => "device",
        IdentifierType.Social => "social",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
