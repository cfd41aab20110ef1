using System.Text.Json;

namespace Streams.Contracts.Canonical;

/// <summary>
/// Writes canonical events and consent commands in one pass straight into bytes (<see cref="JsonBytes"/>): the bytes the
/// source-generated serializer writes for them (<see cref="CanonicalJsonContext"/>, which stays the reference and is
/// held to these bytes by tests), without its metadata path. The serializer's converter pipeline cannot take its fast
/// path here because of the UTC timestamp converter, and serialization was 0.7–4 µs of every record; a reused
/// <see cref="Utf8JsonWriter"/> still spent a fifth of a store record's ingest on its own bookkeeping.
/// </summary>
internal static class CanonicalWriter
{
    public static byte[] Write(CanonicalEvent value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var json = JsonBytes.Rent();
        Write(json, value);
        return json.ToArray();
    }

    /// <summary>Writes <paramref name="value"/> as the next value of <paramref name="writer"/>: the bytes <see cref="Write(CanonicalEvent)"/> returns.</summary>
    public static void Write(Utf8JsonWriter writer, CanonicalEvent value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        var json = JsonBytes.Rent();
        Write(json, value);
        json.WriteTo(writer);
    }

    private static void Write(JsonBytes json, CanonicalEvent value)
    {
        json.StartObject();
        json.String(CanonicalNames.ChannelField, CanonicalNames.ChannelText(value.Channel));
        json.String(CanonicalNames.EventId, value.EventId);
        json.Timestamp(CanonicalNames.OccurredAt, value.OccurredAt.UtcDateTime);
        // Indexed, not foreach: an enumerator of an IReadOnlyList is an object per list, three per event.
        json.StartArray(CanonicalNames.Identifiers);
        var identifiers = value.Identifiers;
        for (var i = 0; i < identifiers.Count; i++)
        {
            var identifier = identifiers[i];
            json.StartObject();
            json.String(CanonicalNames.Type, CanonicalNames.IdentifierTypeText(identifier.Type));
            json.String(CanonicalNames.Pseudonym, identifier.Pseudonym);
            if (identifier.Previous is { } previous)
            {
                json.String(CanonicalNames.Previous, previous);
            }

            json.EndObject();
        }

        json.EndArray();
        json.StartArray(CanonicalNames.Flags);
        var flags = value.Flags;
        for (var i = 0; i < flags.Count; i++)
        {
            json.StringValue(flags[i]);
        }

        json.EndArray();
        WriteSource(json, value.Source);
        if (value.Clickstream is { } click)
        {
            json.StartObject(CanonicalNames.ClickstreamField);
            json.String(CanonicalNames.EventType, click.EventType);
            OptionalString(json, CanonicalNames.PageCategory, click.PageCategory);
            OptionalNumber(json, CanonicalNames.DwellMs, click.DwellMs);
            OptionalNumber(json, CanonicalNames.Revenue, click.Revenue);
            OptionalString(json, CanonicalNames.Currency, click.Currency);
            json.String(CanonicalNames.DeviceClass, click.DeviceClass);
            json.EndObject();
        }

        if (value.Store is { } store)
        {
            json.StartObject(CanonicalNames.StoreField);
            json.String(CanonicalNames.StoreId, store.StoreId);
            json.Number(CanonicalNames.Total, store.Total);
            json.String(CanonicalNames.Currency, store.Currency);
            OptionalNumber(json, CanonicalNames.DiscountPct, store.DiscountPct);
            json.Number(CanonicalNames.ItemCount, store.ItemCount);
            json.StartArray(CanonicalNames.Categories);
            var categories = store.Categories;
            for (var i = 0; i < categories.Count; i++)
            {
                var category = categories[i];
                json.StartObject();
                json.String(CanonicalNames.Category, category.Category);
                json.Number(CanonicalNames.Quantity, category.Quantity);
                json.Number(CanonicalNames.Amount, category.Amount);
                json.EndObject();
            }

            json.EndArray();
            OptionalString(json, CanonicalNames.Payment, store.Payment);
            json.EndObject();
        }

        if (value.Callcenter is { } call)
        {
            json.StartObject(CanonicalNames.CallcenterField);
            json.String(CanonicalNames.Reason, call.Reason);
            json.Number(CanonicalNames.DurationS, call.DurationS);
            json.Number(CanonicalNames.Sentiment, call.Sentiment);
            json.Boolean(CanonicalNames.Resolved, call.Resolved);
            json.EndObject();
        }

        if (value.Social is { } social)
        {
            json.StartObject(CanonicalNames.SocialField);
            json.String(CanonicalNames.Platform, social.Platform);
            json.String(CanonicalNames.Interaction, social.Interaction);
            OptionalNumber(json, CanonicalNames.Sentiment, social.Sentiment);
            OptionalNumber(json, CanonicalNames.Followers, social.Followers);
            json.EndObject();
        }

        json.EndObject();
    }

    public static byte[] Write(ConsentCommand value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var json = JsonBytes.Rent();
        json.StartObject();
        json.String(CanonicalNames.EventId, value.EventId);
        json.Timestamp(CanonicalNames.OccurredAt, value.OccurredAt.UtcDateTime);
        json.String(CanonicalNames.IdentifierTypeField, CanonicalNames.IdentifierTypeText(value.IdentifierType));
        json.String(CanonicalNames.Pseudonym, value.Pseudonym);
        json.String(CanonicalNames.Action, CanonicalNames.ActionText(value.Action));
        WriteSource(json, value.Source);
        if (value.OtherPseudonyms is { } others)
        {
            json.StartArray(CanonicalNames.OtherPseudonyms);
            foreach (var other in others)
            {
                json.StringValue(other);
            }

            json.EndArray();
        }

        json.EndObject();
        return json.ToArray();
    }

    private static void WriteSource(JsonBytes json, SourcePosition source)
    {
        json.StartObject(CanonicalNames.Source);
        json.String(CanonicalNames.Topic, source.Topic);
        json.Number(CanonicalNames.Partition, source.Partition);
        json.Number(CanonicalNames.Offset, source.Offset);
        json.EndObject();
    }

    private static void OptionalString(JsonBytes json, JsonEncodedText name, string? value)
    {
        if (value is not null)
        {
            json.String(name, value);
        }
    }

    private static void OptionalNumber(JsonBytes json, JsonEncodedText name, double? value)
    {
        if (value is { } number)
        {
            json.Number(name, number);
        }
    }

    private static void OptionalNumber(JsonBytes json, JsonEncodedText name, long? value)
    {
        if (value is { } number)
        {
            json.Number(name, number);
        }
    }
}
