using System.Buffers;
using System.Collections.Frozen;
using System.Text.Json;
using Streams.Contracts;
using Streams.Ingest.Channels;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Validation;

namespace Streams.Ingest.Quarantine;

/// <summary>
/// Builds the <c>record</c> of a quarantine record: a copy of the input a steward can read without seeing personal
/// data. Only the fields of CONTRACT §2 are copied; names, IPs, user agents, transcripts and post text are not among
/// them on purpose, and unknown fields are left out because nobody knows what they hold.
/// </summary>
internal static class RecordMasker
{
    /// <summary>Enough to recognise a value; a 900 KB string field must not be copied into the quarantine topic.</summary>
    internal const int MaxStringLength = 256;

    /// <summary>The first items show the problem; the reasons name the item paths of the rest.</summary>
    internal const int MaxItems = 50;

    private enum Kind
    {
        /// <summary>An id or label (<c>event_id</c>, <c>store_id</c>, <c>sku</c>): copied, shortened.</summary>
        Text,

        /// <summary>Copied only when it is one of the allowed values: a wrong one may be anything.</summary>
        Enum,

        /// <summary>Copied only when it looks like a currency code.</summary>
        Currency,

        /// <summary>Copied only when it is a valid timestamp.</summary>
        Timestamp,
        Number,
        Boolean,
        Identifier,
        Url,
        Items,
    }

    private readonly record struct Field(Kind Kind, IReadOnlyList<string>? Allowed = null);

    private static readonly FrozenDictionary<string, Field> ItemFields = Fields(
        ("sku", new(Kind.Text)), ("category", new(Kind.Text)), ("quantity", new(Kind.Number)), ("unit_price", new(Kind.Number)));

    private static readonly FrozenDictionary<Channel, FrozenDictionary<string, Field>> ChannelFields =
        new Dictionary<Channel, FrozenDictionary<string, Field>>
        {
            [Channel.Clickstream] = EventFields(
                ("anonymous_id", new(Kind.Identifier)), ("email", new(Kind.Identifier)), ("event_type", new(Kind.Enum, ClickstreamReader.EventTypes)),
                ("page_category", new(Kind.Text)), ("url", new(Kind.Url)), ("dwell_ms", new(Kind.Number)), ("revenue", new(Kind.Number)),
                ("currency", new(Kind.Currency))),
            [Channel.Store] = EventFields(
                ("store_id", new(Kind.Text)), ("loyalty_id", new(Kind.Identifier)), ("email", new(Kind.Identifier)),
                ("phone", new(Kind.Identifier)), ("total", new(Kind.Number)), ("currency", new(Kind.Currency)),
                ("discount_pct", new(Kind.Number)), ("items", new(Kind.Items)), ("payment", new(Kind.Enum, StoreReader.Payments))),
            [Channel.Callcenter] = EventFields(
                ("phone", new(Kind.Identifier)), ("email", new(Kind.Identifier)), ("reason", new(Kind.Enum, CallcenterReader.Reasons)),
                ("duration_s", new(Kind.Number)), ("sentiment", new(Kind.Number)), ("resolved", new(Kind.Boolean)), ("agent_id", new(Kind.Text))),
            [Channel.Social] = EventFields(
                ("platform", new(Kind.Enum, IdentifierNormalizer.SocialPlatforms)), ("handle", new(Kind.Identifier)), ("email", new(Kind.Identifier)),
                ("interaction", new(Kind.Enum, SocialReader.Interactions)), ("sentiment", new(Kind.Number)), ("followers", new(Kind.Number))),
            [Channel.Consent] = EventFields(
                ("identifier_type", new(Kind.Enum, ConsentReader.IdentifierTypes)), ("identifier", new(Kind.Identifier)),
                ("action", new(Kind.Enum, ConsentReader.Actions))),
        }.ToFrozenDictionary();

    public static JsonElement Mask(Channel channel, JsonElement root, IdentifierSet identifiers)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteObject(writer, root, ChannelFields[channel], identifiers);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private static void WriteObject(Utf8JsonWriter writer, JsonElement obj, FrozenDictionary<string, Field> fields, IdentifierSet? identifiers)
    {
        writer.WriteStartObject();
        foreach (var property in obj.EnumerateObject())
        {
            if (!fields.TryGetValue(property.Name, out var field))
            {
                continue;
            }

            writer.WritePropertyName(property.Name);
            WriteValue(writer, property.Name, property.Value, field, identifiers);
        }

        writer.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter writer, string name, JsonElement value, Field field, IdentifierSet? identifiers)
    {
        var valueKind = value.ValueKind;
        switch (field.Kind)
        {
            case Kind.Identifier when identifiers?.Find(name) is { } resolved:
                writer.WriteStringValue(resolved.Pseudonym
                    ?? (FieldReader.TryGetString(value, out var raw) && raw is not null
                        ? IdentifierMasker.Mask(resolved.Type, raw)
                        : IdentifierMasker.FullMask));
                break;
            case Kind.Identifier:
                // Present but unusable (wrong type, blank, no identifier type): nothing about it is worth showing.
                WriteNullOr(writer, valueKind, IdentifierMasker.FullMask);
                break;
            case Kind.Text or Kind.Url when valueKind == JsonValueKind.String:
                WriteText(writer, value, field.Kind == Kind.Url);
                break;
            case Kind.Enum when valueKind == JsonValueKind.String && FieldReader.IsText(value) && field.Allowed!.Any(value.ValueEquals):
            case Kind.Currency when valueKind == JsonValueKind.String && IsCurrencyShaped(value):
            case Kind.Timestamp when valueKind == JsonValueKind.String && FieldReader.TryGetString(value, out var t)
                && Rfc3339Timestamp.TryParse(t, out _):
            case Kind.Text when valueKind is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
            case Kind.Number when valueKind == JsonValueKind.Number:
            case Kind.Boolean when valueKind is JsonValueKind.True or JsonValueKind.False:
                value.WriteTo(writer);
                break;
            case Kind.Items when valueKind == JsonValueKind.Array:
                WriteItems(writer, value);
                break;
            default:
                // A mistyped value (a string where a number belongs, an object anywhere) could hold anything: mask it.
                WriteNullOr(writer, valueKind, IdentifierMasker.FullMask);
                break;
        }
    }

    private static void WriteItems(Utf8JsonWriter writer, JsonElement items)
    {
        writer.WriteStartArray();
        var count = 0;
        foreach (var item in items.EnumerateArray())
        {
            if (count++ == MaxItems)
            {
                break;
            }

            if (item.ValueKind == JsonValueKind.Object)
            {
                WriteObject(writer, item, ItemFields, identifiers: null);
            }
            else
            {
                WriteNullOr(writer, item.ValueKind, IdentifierMasker.FullMask);
            }
        }

        writer.WriteEndArray();
    }

    private static void WriteText(Utf8JsonWriter writer, JsonElement value, bool isUrl)
    {
        if (!FieldReader.TryGetString(value, out var text) || text is null)
        {
            writer.WriteStringValue(IdentifierMasker.FullMask);
            return;
        }

        if (isUrl)
        {
            text = UrlParts.WithoutQuery(text);
        }

        if (text.Length > MaxStringLength)
        {
            // Do not cut a surrogate pair in half: the result must stay valid text.
            var cut = char.IsHighSurrogate(text[MaxStringLength - 1]) ? MaxStringLength - 1 : MaxStringLength;
            text = string.Concat(text.AsSpan(0, cut), "…");
        }

        writer.WriteStringValue(text);
    }

    private static void WriteNullOr(Utf8JsonWriter writer, JsonValueKind kind, string replacement)
    {
        if (kind == JsonValueKind.Null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(replacement);
        }
    }

    /// <summary>Three ASCII letters: enough for a steward to see which code was wrong, too little to hold personal data.</summary>
    private static bool IsCurrencyShaped(JsonElement value) =>
        FieldReader.TryGetString(value, out var code) && code is { Length: 3 } && code.All(char.IsAsciiLetter);

    private static FrozenDictionary<string, Field> EventFields(params (string Name, Field Field)[] fields) =>
        Fields([("event_id", new(Kind.Text)), ("occurred_at", new(Kind.Timestamp)), .. fields]);

    private static FrozenDictionary<string, Field> Fields(params (string Name, Field Field)[] fields) =>
        fields.ToFrozenDictionary(f => f.Name, f => f.Field, StringComparer.Ordinal);
}
