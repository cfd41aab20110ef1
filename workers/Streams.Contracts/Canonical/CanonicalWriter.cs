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
    private static readonly byte[] ChannelField = JsonBytes.Name(CanonicalNames.ChannelField);
    private static readonly byte[] EventId = JsonBytes.Name(CanonicalNames.EventId);
    private static readonly byte[] OccurredAt = JsonBytes.Name(CanonicalNames.OccurredAt);
    private static readonly byte[] Identifiers = JsonBytes.Name(CanonicalNames.Identifiers);
    private static readonly byte[] Type = JsonBytes.Name(CanonicalNames.Type);
    private static readonly byte[] Pseudonym = JsonBytes.Name(CanonicalNames.Pseudonym);
    private static readonly byte[] Previous = JsonBytes.Name(CanonicalNames.Previous);
    private static readonly byte[] Flags = JsonBytes.Name(CanonicalNames.Flags);
    private static readonly byte[] Source = JsonBytes.Name(CanonicalNames.Source);
    private static readonly byte[] Topic = JsonBytes.Name(CanonicalNames.Topic);
    private static readonly byte[] Partition = JsonBytes.Name(CanonicalNames.Partition);
    private static readonly byte[] Offset = JsonBytes.Name(CanonicalNames.Offset);
    private static readonly byte[] ClickstreamField = JsonBytes.Name(CanonicalNames.ClickstreamField);
    private static readonly byte[] EventType = JsonBytes.Name(CanonicalNames.EventType);
    private static readonly byte[] PageCategory = JsonBytes.Name(CanonicalNames.PageCategory);
    private static readonly byte[] DwellMs = JsonBytes.Name(CanonicalNames.DwellMs);
    private static readonly byte[] Revenue = JsonBytes.Name(CanonicalNames.Revenue);
    private static readonly byte[] Currency = JsonBytes.Name(CanonicalNames.Currency);
    private static readonly byte[] DeviceClass = JsonBytes.Name(CanonicalNames.DeviceClass);
    private static readonly byte[] StoreField = JsonBytes.Name(CanonicalNames.StoreField);
    private static readonly byte[] StoreId = JsonBytes.Name(CanonicalNames.StoreId);
    private static readonly byte[] Total = JsonBytes.Name(CanonicalNames.Total);
    private static readonly byte[] DiscountPct = JsonBytes.Name(CanonicalNames.DiscountPct);
    private static readonly byte[] ItemCount = JsonBytes.Name(CanonicalNames.ItemCount);
    private static readonly byte[] Categories = JsonBytes.Name(CanonicalNames.Categories);
    private static readonly byte[] Category = JsonBytes.Name(CanonicalNames.Category);
    private static readonly byte[] Quantity = JsonBytes.Name(CanonicalNames.Quantity);
    private static readonly byte[] Amount = JsonBytes.Name(CanonicalNames.Amount);
    private static readonly byte[] Payment = JsonBytes.Name(CanonicalNames.Payment);
    private static readonly byte[] CallcenterField = JsonBytes.Name(CanonicalNames.CallcenterField);
    private static readonly byte[] Reason = JsonBytes.Name(CanonicalNames.Reason);
    private static readonly byte[] DurationS = JsonBytes.Name(CanonicalNames.DurationS);
    private static readonly byte[] Sentiment = JsonBytes.Name(CanonicalNames.Sentiment);
    private static readonly byte[] Resolved = JsonBytes.Name(CanonicalNames.Resolved);
    private static readonly byte[] SocialField = JsonBytes.Name(CanonicalNames.SocialField);
    private static readonly byte[] Platform = JsonBytes.Name(CanonicalNames.Platform);
    private static readonly byte[] Interaction = JsonBytes.Name(CanonicalNames.Interaction);
    private static readonly byte[] Followers = JsonBytes.Name(CanonicalNames.Followers);
    private static readonly byte[] IdentifierTypeField = JsonBytes.Name(CanonicalNames.IdentifierTypeField);
    private static readonly byte[] Action = JsonBytes.Name(CanonicalNames.Action);
    private static readonly byte[] OtherPseudonyms = JsonBytes.Name(CanonicalNames.OtherPseudonyms);

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
        json.String(ChannelField, CanonicalNames.ChannelText(value.Channel));
        json.String(EventId, value.EventId);
        json.Timestamp(OccurredAt, value.OccurredAt.UtcDateTime);
        // Indexed, not foreach: an enumerator of an IReadOnlyList is an object per list, three per event.
        json.StartArray(Identifiers);
        var identifiers = value.Identifiers;
        for (var i = 0; i < identifiers.Count; i++)
        {
            var identifier = identifiers[i];
            json.StartObject();
            json.String(Type, CanonicalNames.IdentifierTypeText(identifier.Type));
            json.String(Pseudonym, identifier.Pseudonym);
            if (identifier.Previous is { } previous)
            {
                json.String(Previous, previous);
            }

            json.EndObject();
        }

        json.EndArray();
        json.StartArray(Flags);
        var flags = value.Flags;
        for (var i = 0; i < flags.Count; i++)
        {
            json.StringValue(flags[i]);
        }

        json.EndArray();
        WriteSource(json, value.Source);
        if (value.Clickstream is { } click)
        {
            json.StartObject(ClickstreamField);
            json.String(EventType, click.EventType);
            OptionalString(json, PageCategory, click.PageCategory);
            OptionalNumber(json, DwellMs, click.DwellMs);
            OptionalNumber(json, Revenue, click.Revenue);
            OptionalString(json, Currency, click.Currency);
            json.String(DeviceClass, click.DeviceClass);
            json.EndObject();
        }

        if (value.Store is { } store)
        {
            json.StartObject(StoreField);
            json.String(StoreId, store.StoreId);
            json.Number(Total, store.Total);
            json.String(Currency, store.Currency);
            OptionalNumber(json, DiscountPct, store.DiscountPct);
            json.Number(ItemCount, store.ItemCount);
            json.StartArray(Categories);
            var categories = store.Categories;
            for (var i = 0; i < categories.Count; i++)
            {
                var category = categories[i];
                json.StartObject();
                json.String(Category, category.Category);
                json.Number(Quantity, category.Quantity);
                json.Number(Amount, category.Amount);
                json.EndObject();
            }

            json.EndArray();
            OptionalString(json, Payment, store.Payment);
            json.EndObject();
        }

        if (value.Callcenter is { } call)
        {
            json.StartObject(CallcenterField);
            json.String(Reason, call.Reason);
            json.Number(DurationS, call.DurationS);
            json.Number(Sentiment, call.Sentiment);
            json.Boolean(Resolved, call.Resolved);
            json.EndObject();
        }

        if (value.Social is { } social)
        {
            json.StartObject(SocialField);
            json.String(Platform, social.Platform);
            json.String(Interaction, social.Interaction);
            OptionalNumber(json, Sentiment, social.Sentiment);
            OptionalNumber(json, Followers, social.Followers);
            json.EndObject();
        }

        json.EndObject();
    }

    public static byte[] Write(ConsentCommand value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var json = JsonBytes.Rent();
        json.StartObject();
        json.String(EventId, value.EventId);
        json.Timestamp(OccurredAt, value.OccurredAt.UtcDateTime);
        json.String(IdentifierTypeField, CanonicalNames.IdentifierTypeText(value.IdentifierType));
        json.String(Pseudonym, value.Pseudonym);
        json.String(Action, CanonicalNames.ActionText(value.Action));
        WriteSource(json, value.Source);
        if (value.OtherPseudonyms is { } others)
        {
            json.StartArray(OtherPseudonyms);
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
        json.StartObject(Source);
        json.String(Topic, source.Topic);
        json.Number(Partition, source.Partition);
        json.Number(Offset, source.Offset);
        json.EndObject();
    }

    private static void OptionalString(JsonBytes json, byte[] name, string? value)
    {
        if (value is not null)
        {
            json.String(name, value);
        }
    }

    private static void OptionalNumber(JsonBytes json, byte[] name, double? value)
    {
        if (value is { } number)
        {
            json.Number(name, number);
        }
    }

    private static void OptionalNumber(JsonBytes json, byte[] name, long? value)
    {
        if (value is { } number)
        {
            json.Number(name, number);
        }
    }
}
