using System.Text.Json;
using Streams.Contracts.Identifiers;

namespace Streams.Contracts.Canonical;

/// <summary>
/// A canonical event written from its parts, in the order of its fields, for a producer that holds the parts rather
/// than a <see cref="CanonicalEvent"/>: ingest, which judged the record into them and would otherwise build the event's
/// objects only to walk them once (a third of what a store record allocated). <see cref="CanonicalWriter"/> writes every
/// <see cref="CanonicalEvent"/> through the same calls, so the bytes are the one writer's.
/// </summary>
/// <remarks>
/// The calls go: <see cref="Start"/>; <see cref="Identifier"/> for each identifier; <see cref="FlagsAndSource"/>; at
/// most one channel section (<see cref="Clickstream"/>, <see cref="StartStore"/> with its <see cref="Category"/> calls
/// and <see cref="EndStore"/>, <see cref="Callcenter"/> or <see cref="Social"/>); then <see cref="ToArray"/>. It writes
/// into the thread's buffer, so nothing else may write a canonical value on the thread until the event is finished.
/// </remarks>
public readonly ref struct CanonicalEventWriter
{
    private readonly JsonBytes json;

    internal CanonicalEventWriter(JsonBytes json, Channel channel, string eventId, DateTimeOffset occurredAt)
    {
        this.json = json;
        json.StartObject();
        json.String(CanonicalNames.ChannelField, CanonicalNames.ChannelText(channel));
        json.String(CanonicalNames.EventId, eventId);
        json.Timestamp(CanonicalNames.OccurredAt, occurredAt.UtcDateTime);
        json.StartArray(CanonicalNames.Identifiers);
    }

    /// <summary>Begins an event in this thread's buffer: its channel, id and time, then its identifiers.</summary>
    public static CanonicalEventWriter Start(Channel channel, string eventId, DateTimeOffset occurredAt)
    {
        ArgumentNullException.ThrowIfNull(eventId);
        return new CanonicalEventWriter(JsonBytes.Rent(), channel, eventId, occurredAt);
    }

    /// <summary>One of the event's identifiers (<see cref="CanonicalIdentifier"/>).</summary>
    public void Identifier(IdentifierType type, string pseudonym, string? previous)
    {
        json.StartObject();
        json.String(CanonicalNames.Type, CanonicalNames.IdentifierTypeText(type));
        json.String(CanonicalNames.Pseudonym, pseudonym);
        if (previous is not null)
        {
            json.String(CanonicalNames.Previous, previous);
        }

        json.EndObject();
    }

    /// <summary>Ends the identifiers; the flags and the input record the event came from.</summary>
    public void FlagsAndSource(IReadOnlyList<string> flags, SourcePosition source)
    {
        ArgumentNullException.ThrowIfNull(flags);
        ArgumentNullException.ThrowIfNull(source);
        json.EndArray();
        json.StartArray(CanonicalNames.Flags);
        for (var i = 0; i < flags.Count; i++)
        {
            json.StringValue(flags[i]);
        }

        json.EndArray();
        CanonicalWriter.WriteSource(json, source);
    }

    public void Clickstream(ClickstreamAttributes click)
    {
        ArgumentNullException.ThrowIfNull(click);
        json.StartObject(CanonicalNames.ClickstreamField);
        json.String(CanonicalNames.EventType, click.EventType);
        OptionalString(json, CanonicalNames.PageCategory, click.PageCategory);
        OptionalNumber(json, CanonicalNames.DwellMs, click.DwellMs);
        OptionalNumber(json, CanonicalNames.Revenue, click.Revenue);
        OptionalString(json, CanonicalNames.Currency, click.Currency);
        json.String(CanonicalNames.DeviceClass, click.DeviceClass);
        json.EndObject();
    }

    /// <summary>Begins the store section (<see cref="StoreAttributes"/>) up to its categories, which follow one by one.</summary>
    public void StartStore(string storeId, double total, string currency, double? discountPct, long itemCount)
    {
        json.StartObject(CanonicalNames.StoreField);
        json.String(CanonicalNames.StoreId, storeId);
        json.Number(CanonicalNames.Total, total);
        json.String(CanonicalNames.Currency, currency);
        OptionalNumber(json, CanonicalNames.DiscountPct, discountPct);
        json.Number(CanonicalNames.ItemCount, itemCount);
        json.StartArray(CanonicalNames.Categories);
    }

    /// <summary>One category of the sale (<see cref="CategoryAmount"/>).</summary>
    public void Category(string category, long quantity, double amount)
    {
        json.StartObject();
        json.String(CanonicalNames.Category, category);
        json.Number(CanonicalNames.Quantity, quantity);
        json.Number(CanonicalNames.Amount, amount);
        json.EndObject();
    }

    /// <summary>Ends the categories and the store section.</summary>
    public void EndStore(string? payment)
    {
        json.EndArray();
        OptionalString(json, CanonicalNames.Payment, payment);
        json.EndObject();
    }

    public void Callcenter(CallcenterAttributes call)
    {
        ArgumentNullException.ThrowIfNull(call);
        json.StartObject(CanonicalNames.CallcenterField);
        json.String(CanonicalNames.Reason, call.Reason);
        json.Number(CanonicalNames.DurationS, call.DurationS);
        json.Number(CanonicalNames.Sentiment, call.Sentiment);
        json.Boolean(CanonicalNames.Resolved, call.Resolved);
        json.EndObject();
    }

    public void Social(SocialAttributes social)
    {
        ArgumentNullException.ThrowIfNull(social);
        json.StartObject(CanonicalNames.SocialField);
        json.String(CanonicalNames.Platform, social.Platform);
        json.String(CanonicalNames.Interaction, social.Interaction);
        OptionalNumber(json, CanonicalNames.Sentiment, social.Sentiment);
        OptionalNumber(json, CanonicalNames.Followers, social.Followers);
        json.EndObject();
    }

    /// <summary>Ends the event, leaving its bytes in the buffer (for <see cref="CanonicalWriter"/>).</summary>
    internal void End() => json.EndObject();

    /// <summary>Ends the event: its bytes, as their own array.</summary>
    public byte[] ToArray()
    {
        json.EndObject();
        return json.ToArray();
    }

    private static void OptionalString(JsonBytes json, CanonicalName name, string? value)
    {
        if (value is not null)
        {
            json.String(name, value);
        }
    }

    private static void OptionalNumber(JsonBytes json, CanonicalName name, double? value)
    {
        if (value is { } number)
        {
            json.Number(name, number);
        }
    }

    private static void OptionalNumber(JsonBytes json, CanonicalName name, long? value)
    {
        if (value is { } number)
        {
            json.Number(name, number);
        }
    }
}
