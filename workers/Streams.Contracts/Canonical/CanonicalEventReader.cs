using System.Runtime.CompilerServices;
using System.Text.Json;
using Streams.Contracts.Identifiers;

namespace Streams.Contracts.Canonical;

/// <summary>
/// Reads a <see cref="CanonicalEvent"/> in the exact shape <see cref="CanonicalJson.Serialize(CanonicalEvent)"/> writes,
/// straight off a <see cref="Utf8JsonReader"/>: the profiles worker reads every canonical event, and the serializer's
/// metadata path (boxed constructor arguments, property lookups, list converters) cost several times as much.
/// </summary>
/// <remarks>
/// It only answers for the plain shape: known properties each at most once, the enum names ingest writes, no nulls,
/// numbers that fit. Anything else (an unknown or repeated property, a null, an integer enum, malformed JSON) makes it
/// decline, and the caller asks the serializer, whose answer (a value or a <see cref="JsonException"/>) stays the
/// reference. So both paths agree on every input.
/// </remarks>
internal static class CanonicalEventReader
{
    // Not inlined into callers: their loops get compiled on-stack, and a parser inlined into one makes that compile slow.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static bool TryRead(ReadOnlySpan<byte> utf8, out CanonicalEvent? value)
    {
        value = null;
        // Default reader options are the serializer's defaults: no comments, no trailing commas, depth 64.
        var reader = new Utf8JsonReader(utf8);
        try
        {
            if (!TryReadEvent(ref reader, out value))
            {
                value = null;
                return false;
            }

            // Only whitespace may follow the value; the reader throws on anything else.
            if (reader.Read())
            {
                value = null;
                return false;
            }

            return true;
        }
        catch (JsonException)
        {
            value = null;
            return false;
        }
    }

    private static bool TryReadEvent(ref Utf8JsonReader reader, out CanonicalEvent? value)
    {
        value = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        Channel channel = default;
        string? eventId = null;
        DateTimeOffset occurredAt = default;
        List<CanonicalIdentifier>? identifiers = null;
        List<string>? flags = null;
        SourcePosition? source = null;
        ClickstreamAttributes? clickstream = null;
        StoreAttributes? store = null;
        CallcenterAttributes? callcenter = null;
        SocialAttributes? social = null;
        var seen = 0;
        while (NextProperty(ref reader, out var done) && !done)
        {
            var property =
                reader.ValueTextEquals(CanonicalNames.ChannelField.EncodedUtf8Bytes) ? 0 :
                reader.ValueTextEquals(CanonicalNames.EventId.EncodedUtf8Bytes) ? 1 :
                reader.ValueTextEquals(CanonicalNames.OccurredAt.EncodedUtf8Bytes) ? 2 :
                reader.ValueTextEquals(CanonicalNames.Identifiers.EncodedUtf8Bytes) ? 3 :
                reader.ValueTextEquals(CanonicalNames.Flags.EncodedUtf8Bytes) ? 4 :
                reader.ValueTextEquals(CanonicalNames.Source.EncodedUtf8Bytes) ? 5 :
                reader.ValueTextEquals(CanonicalNames.ClickstreamField.EncodedUtf8Bytes) ? 6 :
                reader.ValueTextEquals(CanonicalNames.StoreField.EncodedUtf8Bytes) ? 7 :
                reader.ValueTextEquals(CanonicalNames.CallcenterField.EncodedUtf8Bytes) ? 8 :
                reader.ValueTextEquals(CanonicalNames.SocialField.EncodedUtf8Bytes) ? 9 : -1;
            if (!ToValue(ref reader, property, ref seen))
            {
                return false;
            }

            var ok = property switch
            {
                0 => TryChannel(ref reader, out channel),
                1 => TryString(ref reader, out eventId),
                2 => reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out occurredAt),
                3 => TryIdentifiers(ref reader, out identifiers),
                4 => TryStrings(ref reader, out flags),
                5 => TrySource(ref reader, out source),
                6 => TryClickstream(ref reader, out clickstream),
                7 => TryStore(ref reader, out store),
                8 => TryCallcenter(ref reader, out callcenter),
                _ => TrySocial(ref reader, out social),
            };
            if (!ok)
            {
                return false;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            return false;
        }

        // Absent values are what the serializer gives for them too: null, or the type's default.
        value = new CanonicalEvent(channel, eventId!, occurredAt, identifiers!, flags!, source!)
        {
            Clickstream = clickstream,
            Store = store,
            Callcenter = callcenter,
            Social = social,
        };
        return true;
    }

    private static bool TryIdentifiers(ref Utf8JsonReader reader, out List<CanonicalIdentifier>? identifiers)
    {
        identifiers = null;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        var list = new List<CanonicalIdentifier>(4);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            IdentifierType type = default;
            string? pseudonym = null;
            string? previous = null;
            var seen = 0;
            while (NextProperty(ref reader, out var done) && !done)
            {
                var property = reader.ValueTextEquals(CanonicalNames.Type.EncodedUtf8Bytes) ? 0 : reader.ValueTextEquals(CanonicalNames.Pseudonym.EncodedUtf8Bytes) ? 1
                    : reader.ValueTextEquals(CanonicalNames.Previous.EncodedUtf8Bytes) ? 2 : -1;
                if (!ToValue(ref reader, property, ref seen)
                    || !(property switch
                    {
                        0 => TryIdentifierType(ref reader, out type),
                        1 => TryString(ref reader, out pseudonym),
                        _ => TryString(ref reader, out previous),
                    }))
                {
                    return false;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                return false;
            }

            list.Add(new CanonicalIdentifier(type, pseudonym!, previous));
        }

        identifiers = list;
        return reader.TokenType == JsonTokenType.EndArray;
    }

    private static bool TryStrings(ref Utf8JsonReader reader, out List<string>? strings)
    {
        strings = null;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (!TryString(ref reader, out var item))
            {
                return false;
            }

            list.Add(item!);
        }

        strings = list;
        return reader.TokenType == JsonTokenType.EndArray;
    }

    private static bool TrySource(ref Utf8JsonReader reader, out SourcePosition? source)
    {
        source = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        string? topic = null;
        int partition = default;
        long offset = default;
        var seen = 0;
        while (NextProperty(ref reader, out var done) && !done)
        {
            var property =
                reader.ValueTextEquals(CanonicalNames.Topic.EncodedUtf8Bytes) ? 0 :
                reader.ValueTextEquals(CanonicalNames.Partition.EncodedUtf8Bytes) ? 1 :
                reader.ValueTextEquals(CanonicalNames.Offset.EncodedUtf8Bytes) ? 2 : -1;
            if (!ToValue(ref reader, property, ref seen))
            {
                return false;
            }

            var ok = property switch
            {
                0 => TryString(ref reader, out topic),
                1 => reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out partition),
                _ => TryInt64(ref reader, out offset),
            };
            if (!ok)
            {
                return false;
            }
        }

        source = new SourcePosition(topic!, partition, offset);
        return reader.TokenType == JsonTokenType.EndObject;
    }

    private static bool TryClickstream(ref Utf8JsonReader reader, out ClickstreamAttributes? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        string? eventType = null, pageCategory = null, currency = null, deviceClass = null;
        long? dwellMs = null;
        double? revenue = null;
        var seen = 0;
        while (NextProperty(ref reader, out var done) && !done)
        {
            var property =
                reader.ValueTextEquals(CanonicalNames.EventType.EncodedUtf8Bytes) ? 0 :
                reader.ValueTextEquals(CanonicalNames.PageCategory.EncodedUtf8Bytes) ? 1 :
                reader.ValueTextEquals(CanonicalNames.DwellMs.EncodedUtf8Bytes) ? 2 :
                reader.ValueTextEquals(CanonicalNames.Revenue.EncodedUtf8Bytes) ? 3 :
                reader.ValueTextEquals(CanonicalNames.Currency.EncodedUtf8Bytes) ? 4 :
                reader.ValueTextEquals(CanonicalNames.DeviceClass.EncodedUtf8Bytes) ? 5 : -1;
            if (!ToValue(ref reader, property, ref seen))
            {
                return false;
            }

            var ok = property switch
            {
                0 => TryString(ref reader, out eventType),
                1 => TryString(ref reader, out pageCategory),
                2 => TryInt64(ref reader, out dwellMs),
                3 => TryDouble(ref reader, out revenue),
                4 => TryString(ref reader, out currency),
                _ => TryString(ref reader, out deviceClass),
            };
            if (!ok)
            {
                return false;
            }
        }

        value = new ClickstreamAttributes(eventType!, pageCategory, dwellMs, revenue, currency, deviceClass!);
        return reader.TokenType == JsonTokenType.EndObject;
    }

    private static bool TryStore(ref Utf8JsonReader reader, out StoreAttributes? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        string? storeId = null, currency = null, payment = null;
        double total = default;
        double? discountPct = null;
        long itemCount = default;
        List<CategoryAmount>? categories = null;
        var seen = 0;
        while (NextProperty(ref reader, out var done) && !done)
        {
            var property =
                reader.ValueTextEquals(CanonicalNames.StoreId.EncodedUtf8Bytes) ? 0 :
                reader.ValueTextEquals(CanonicalNames.Total.EncodedUtf8Bytes) ? 1 :
                reader.ValueTextEquals(CanonicalNames.Currency.EncodedUtf8Bytes) ? 2 :
                reader.ValueTextEquals(CanonicalNames.DiscountPct.EncodedUtf8Bytes) ? 3 :
                reader.ValueTextEquals(CanonicalNames.ItemCount.EncodedUtf8Bytes) ? 4 :
                reader.ValueTextEquals(CanonicalNames.Categories.EncodedUtf8Bytes) ? 5 :
                reader.ValueTextEquals(CanonicalNames.Payment.EncodedUtf8Bytes) ? 6 : -1;
            if (!ToValue(ref reader, property, ref seen))
            {
                return false;
            }

            var ok = property switch
            {
                0 => TryString(ref reader, out storeId),
                1 => TryDouble(ref reader, out total),
                2 => TryString(ref reader, out currency),
                3 => TryDouble(ref reader, out discountPct),
                4 => TryInt64(ref reader, out itemCount),
                5 => TryCategories(ref reader, out categories),
                _ => TryString(ref reader, out payment),
            };
            if (!ok)
            {
                return false;
            }
        }

        value = new StoreAttributes(storeId!, total, currency!, discountPct, itemCount, categories!, payment);
        return reader.TokenType == JsonTokenType.EndObject;
    }

    private static bool TryCategories(ref Utf8JsonReader reader, out List<CategoryAmount>? categories)
    {
        categories = null;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        var list = new List<CategoryAmount>(2);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            string? category = null;
            long quantity = default;
            double amount = default;
            var seen = 0;
            while (NextProperty(ref reader, out var done) && !done)
            {
                var property =
                    reader.ValueTextEquals(CanonicalNames.Category.EncodedUtf8Bytes) ? 0 :
                    reader.ValueTextEquals(CanonicalNames.Quantity.EncodedUtf8Bytes) ? 1 :
                    reader.ValueTextEquals(CanonicalNames.Amount.EncodedUtf8Bytes) ? 2 : -1;
                if (!ToValue(ref reader, property, ref seen))
                {
                    return false;
                }

                var ok = property switch
                {
                    0 => TryString(ref reader, out category),
                    1 => TryInt64(ref reader, out quantity),
                    _ => TryDouble(ref reader, out amount),
                };
                if (!ok)
                {
                    return false;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                return false;
            }

            list.Add(new CategoryAmount(category!, quantity, amount));
        }

        categories = list;
        return reader.TokenType == JsonTokenType.EndArray;
    }

    private static bool TryCallcenter(ref Utf8JsonReader reader, out CallcenterAttributes? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        string? reason = null;
        long durationS = default;
        double sentiment = default;
        var resolved = false;
        var seen = 0;
        while (NextProperty(ref reader, out var done) && !done)
        {
            var property =
                reader.ValueTextEquals(CanonicalNames.Reason.EncodedUtf8Bytes) ? 0 :
                reader.ValueTextEquals(CanonicalNames.DurationS.EncodedUtf8Bytes) ? 1 :
                reader.ValueTextEquals(CanonicalNames.Sentiment.EncodedUtf8Bytes) ? 2 :
                reader.ValueTextEquals(CanonicalNames.Resolved.EncodedUtf8Bytes) ? 3 : -1;
            if (!ToValue(ref reader, property, ref seen))
            {
                return false;
            }

            var ok = property switch
            {
                0 => TryString(ref reader, out reason),
                1 => TryInt64(ref reader, out durationS),
                2 => TryDouble(ref reader, out sentiment),
                _ => TryBoolean(ref reader, out resolved),
            };
            if (!ok)
            {
                return false;
            }
        }

        value = new CallcenterAttributes(reason!, durationS, sentiment, resolved);
        return reader.TokenType == JsonTokenType.EndObject;
    }

    private static bool TrySocial(ref Utf8JsonReader reader, out SocialAttributes? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        string? platform = null, interaction = null;
        double? sentiment = null;
        long? followers = null;
        var seen = 0;
        while (NextProperty(ref reader, out var done) && !done)
        {
            var property =
                reader.ValueTextEquals(CanonicalNames.Platform.EncodedUtf8Bytes) ? 0 :
                reader.ValueTextEquals(CanonicalNames.Interaction.EncodedUtf8Bytes) ? 1 :
                reader.ValueTextEquals(CanonicalNames.Sentiment.EncodedUtf8Bytes) ? 2 :
                reader.ValueTextEquals(CanonicalNames.Followers.EncodedUtf8Bytes) ? 3 : -1;
            if (!ToValue(ref reader, property, ref seen))
            {
                return false;
            }

            var ok = property switch
            {
                0 => TryString(ref reader, out platform),
                1 => TryString(ref reader, out interaction),
                2 => TryDouble(ref reader, out sentiment),
                _ => TryInt64(ref reader, out followers),
            };
            if (!ok)
            {
                return false;
            }
        }

        value = new SocialAttributes(platform!, interaction!, sentiment, followers);
        return reader.TokenType == JsonTokenType.EndObject;
    }

    /// <summary>Moves to the next property name of the current object; <paramref name="done"/> at its end.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader, out bool done)
    {
        var read = reader.Read();
        done = read && reader.TokenType == JsonTokenType.EndObject;
        return read && (done || reader.TokenType == JsonTokenType.PropertyName);
    }

    /// <summary>Moves from a known property's name to its value; a property that is unknown or was seen before declines.</summary>
    private static bool ToValue(ref Utf8JsonReader reader, int property, ref int seen)
    {
        if (property < 0 || (seen & (1 << property)) != 0)
        {
            return false;
        }

        seen |= 1 << property;
        return reader.Read();
    }

    private static bool TryString(ref Utf8JsonReader reader, out string? value)
    {
        value = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return value is not null;
    }

    private static bool TryInt64(ref Utf8JsonReader reader, out long value)
    {
        value = default;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out value);
    }

    private static bool TryInt64(ref Utf8JsonReader reader, out long? value)
    {
        var ok = TryInt64(ref reader, out long v);
        value = v;
        return ok;
    }

    private static bool TryDouble(ref Utf8JsonReader reader, out double value)
    {
        value = default;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out value);
    }

    private static bool TryDouble(ref Utf8JsonReader reader, out double? value)
    {
        var ok = TryDouble(ref reader, out double v);
        value = v;
        return ok;
    }

    private static bool TryBoolean(ref Utf8JsonReader reader, out bool value)
    {
        value = reader.TokenType == JsonTokenType.True;
        return reader.TokenType is JsonTokenType.True or JsonTokenType.False;
    }

    private static bool TryChannel(ref Utf8JsonReader reader, out Channel channel) => TryName(ref reader, CanonicalNames.Utf8Channels, out channel);

    private static bool TryIdentifierType(ref Utf8JsonReader reader, out IdentifierType type) => TryName(ref reader, CanonicalNames.Utf8IdentifierTypes, out type);

    /// <summary>An unescaped string token that is exactly one of <paramref name="names"/>, compared as UTF-8 bytes.</summary>
    private static bool TryName<T>(ref Utf8JsonReader reader, (byte[] Name, T Value)[] names, out T value)
        where T : struct
    {
        value = default;
        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
        {
            return false;
        }

        foreach (var (name, candidate) in names)
        {
            if (reader.ValueSpan.SequenceEqual(name))
            {
                value = candidate;
                return true;
            }
        }

        return false;
    }
}
