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
        var writer = new CanonicalEventWriter(json, value.Channel, value.EventId, value.OccurredAt);
        // Indexed, not foreach: an enumerator of an IReadOnlyList is an object per list, three per event.
        var identifiers = value.Identifiers;
        for (var i = 0; i < identifiers.Count; i++)
        {
            var identifier = identifiers[i];
            writer.Identifier(identifier.Type, identifier.Pseudonym, identifier.Previous);
        }

        writer.FlagsAndSource(value.Flags, value.Source);
        if (value.Clickstream is { } click)
        {
            writer.Clickstream(click);
        }

        if (value.Store is { } store)
        {
            writer.StartStore(store.StoreId, store.Total, store.Currency, store.DiscountPct, store.ItemCount);
            var categories = store.Categories;
            for (var i = 0; i < categories.Count; i++)
            {
                var category = categories[i];
                writer.Category(category.Category, category.Quantity, category.Amount);
            }

            writer.EndStore(store.Payment);
        }

        if (value.Callcenter is { } call)
        {
            writer.Callcenter(call);
        }

        if (value.Social is { } social)
        {
            writer.Social(social);
        }

        writer.End();
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

    internal static void WriteSource(JsonBytes json, SourcePosition source)
    {
        json.StartObject(CanonicalNames.Source);
        json.String(CanonicalNames.Topic, source.Topic);
        json.Number(CanonicalNames.Partition, source.Partition);
        json.Number(CanonicalNames.Offset, source.Offset);
        json.EndObject();
    }
}
