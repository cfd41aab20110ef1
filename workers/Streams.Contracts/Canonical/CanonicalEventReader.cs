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
        return reader.Read() && TryObject<EventSection, CanonicalEvent>(ref reader, out value);
    }

    /// <summary>
    /// One object of the shape: the names it knows and their values, read into a struct's fields. Each section is a struct
    /// and <see cref="TryObject{TSection, T}"/> is generic over it, so the JIT compiles the loop once per section with its calls to
    /// <see cref="Read"/> direct and inlinable: the loop is written once and costs what a hand-written loop costs (a
    /// delegate per property cost 15-18 % here).
    /// </summary>
    private interface ISection<out T>
        where T : class
    {
        /// <summary>The known property names; a property's index in it is what <see cref="Read"/> gets.</summary>
        static abstract JsonEncodedText[] Names { get; }

        /// <summary>Reads the value of the property at <paramref name="property"/> in <see cref="Names"/>; false declines.</summary>
        /// <remarks>Implementations ask for inlining: their switch is larger than the JIT inlines unasked (5 % of a read).</remarks>
        bool Read(ref Utf8JsonReader reader, int property);

        /// <summary>The object from the values read; an absent one is what the serializer gives for it too (null or default).</summary>
        T Build();
    }

    /// <summary>An array element of the shape.</summary>
    private interface IElement<T>
        where T : class
    {
        static abstract bool TryRead(ref Utf8JsonReader reader, out T? value);
    }

    /// <summary>An object whose properties are each known and present at most once; anything else declines.</summary>
    private static bool TryObject<TSection, T>(ref Utf8JsonReader reader, out T? value)
        where TSection : struct, ISection<T>
        where T : class
    {
        value = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        var names = TSection.Names;
        var section = default(TSection);
        var seen = 0;
        while (NextProperty(ref reader, out var done) && !done)
        {
            var property = IndexOf(ref reader, names);
            if (!ToValue(ref reader, property, ref seen) || !section.Read(ref reader, property))
            {
                return false;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            return false;
        }

        value = section.Build();
        return true;
    }

    private static bool TryList<TElement, T>(ref Utf8JsonReader reader, int capacity, out List<T>? values)
        where TElement : struct, IElement<T>
        where T : class
    {
        values = null;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        var list = new List<T>(capacity);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (!TElement.TryRead(ref reader, out var item))
            {
                return false;
            }

            list.Add(item!);
        }

        values = list;
        return reader.TokenType == JsonTokenType.EndArray;
    }

    /// <summary>The index of the current property name in <paramref name="names"/>, or -1 for an unknown one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int IndexOf(ref Utf8JsonReader reader, JsonEncodedText[] names)
    {
        // An unescaped name (the shape ingest writes) is compared as its bytes, which is cheaper than asking the reader for
        // each name; an escaped one is compared unescaped, as the serializer does.
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            var name = reader.ValueSpan;
            for (var i = 0; i < names.Length; i++)
            {
                if (name.SequenceEqual(names[i].EncodedUtf8Bytes))
                {
                    return i;
                }
            }

            return -1;
        }

        for (var i = 0; i < names.Length; i++)
        {
            if (reader.ValueTextEquals(names[i].EncodedUtf8Bytes))
            {
                return i;
            }
        }

        return -1;
    }

    private struct EventSection : ISection<CanonicalEvent>
    {
        public static JsonEncodedText[] Names { get; } =
        [
            CanonicalNames.ChannelField, CanonicalNames.EventId, CanonicalNames.OccurredAt, CanonicalNames.Identifiers,
            CanonicalNames.Flags, CanonicalNames.Source, CanonicalNames.ClickstreamField, CanonicalNames.StoreField,
            CanonicalNames.CallcenterField, CanonicalNames.SocialField,
        ];

        private Channel channel;
        private string? eventId;
        private DateTimeOffset occurredAt;
        private List<CanonicalIdentifier>? identifiers;
        private List<string>? flags;
        private SourcePosition? source;
        private ClickstreamAttributes? clickstream;
        private StoreAttributes? store;
        private CallcenterAttributes? callcenter;
        private SocialAttributes? social;

        public readonly CanonicalEvent Build() => new(channel, eventId!, occurredAt, identifiers!, flags!, source!)
        {
            Clickstream = clickstream,
            Store = store,
            Callcenter = callcenter,
            Social = social,
        };

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Read(ref Utf8JsonReader reader, int property) => property switch
        {
            0 => TryChannel(ref reader, out channel),
            1 => TryString(ref reader, out eventId),
            2 => reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out occurredAt),
            3 => TryList<IdentifierSection, CanonicalIdentifier>(ref reader, 4, out identifiers),
            4 => TryList<StringElement, string>(ref reader, 0, out flags),
            5 => TryObject<SourceSection, SourcePosition>(ref reader, out source),
            6 => TryObject<ClickstreamSection, ClickstreamAttributes>(ref reader, out clickstream),
            7 => TryObject<StoreSection, StoreAttributes>(ref reader, out store),
            8 => TryObject<CallcenterSection, CallcenterAttributes>(ref reader, out callcenter),
            _ => TryObject<SocialSection, SocialAttributes>(ref reader, out social),
        };
    }

    private struct StringElement : IElement<string>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out string? value) => TryString(ref reader, out value);
    }

    private struct IdentifierSection : ISection<CanonicalIdentifier>, IElement<CanonicalIdentifier>
    {
        public static JsonEncodedText[] Names { get; } = [CanonicalNames.Type, CanonicalNames.Pseudonym, CanonicalNames.Previous];

        private IdentifierType type;
        private string? pseudonym;
        private string? previous;

        public static bool TryRead(ref Utf8JsonReader reader, out CanonicalIdentifier? value) =>
            TryObject<IdentifierSection, CanonicalIdentifier>(ref reader, out value);

        public readonly CanonicalIdentifier Build() => new(type, pseudonym!, previous);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Read(ref Utf8JsonReader reader, int property) => property switch
        {
            0 => TryIdentifierType(ref reader, out type),
            1 => TryString(ref reader, out pseudonym),
            _ => TryString(ref reader, out previous),
        };
    }

    private struct SourceSection : ISection<SourcePosition>
    {
        public static JsonEncodedText[] Names { get; } = [CanonicalNames.Topic, CanonicalNames.Partition, CanonicalNames.Offset];

        private string? topic;
        private int partition;
        private long offset;

        public readonly SourcePosition Build() => new(topic!, partition, offset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Read(ref Utf8JsonReader reader, int property) => property switch
        {
            0 => TryString(ref reader, out topic),
            1 => reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out partition),
            _ => TryInt64(ref reader, out offset),
        };
    }

    private struct ClickstreamSection : ISection<ClickstreamAttributes>
    {
        public static JsonEncodedText[] Names { get; } =
        [
            CanonicalNames.EventType, CanonicalNames.PageCategory, CanonicalNames.DwellMs, CanonicalNames.Revenue,
            CanonicalNames.Currency, CanonicalNames.DeviceClass,
        ];

        private string? eventType, pageCategory, currency, deviceClass;
        private long? dwellMs;
        private double? revenue;

        public readonly ClickstreamAttributes Build() => new(eventType!, pageCategory, dwellMs, revenue, currency, deviceClass!);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Read(ref Utf8JsonReader reader, int property) => property switch
        {
            0 => TryString(ref reader, out eventType),
            1 => TryString(ref reader, out pageCategory),
            2 => TryInt64(ref reader, out dwellMs),
            3 => TryDouble(ref reader, out revenue),
            4 => TryString(ref reader, out currency),
            _ => TryString(ref reader, out deviceClass),
        };
    }

    private struct StoreSection : ISection<StoreAttributes>
    {
        public static JsonEncodedText[] Names { get; } =
        [
            CanonicalNames.StoreId, CanonicalNames.Total, CanonicalNames.Currency, CanonicalNames.DiscountPct,
            CanonicalNames.Categories, CanonicalNames.ItemCount, CanonicalNames.Payment,
        ];

        private string? storeId, currency, payment;
        private double total;
        private double? discountPct;
        private long itemCount;
        private List<CategoryAmount>? categories;

        public readonly StoreAttributes Build() => new(storeId!, total, currency!, discountPct, itemCount, categories!, payment);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Read(ref Utf8JsonReader reader, int property) => property switch
        {
            0 => TryString(ref reader, out storeId),
            1 => TryDouble(ref reader, out total),
            2 => TryString(ref reader, out currency),
            3 => TryDouble(ref reader, out discountPct),
            4 => TryList<CategorySection, CategoryAmount>(ref reader, 2, out categories),
            5 => TryInt64(ref reader, out itemCount),
            _ => TryString(ref reader, out payment),
        };
    }

    private struct CallcenterSection : ISection<CallcenterAttributes>
    {
        public static JsonEncodedText[] Names { get; } =
            [CanonicalNames.Reason, CanonicalNames.DurationS, CanonicalNames.Sentiment, CanonicalNames.Resolved];

        private string? reason;
        private long durationS;
        private double sentiment;
        private bool resolved;

        public readonly CallcenterAttributes Build() => new(reason!, durationS, sentiment, resolved);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Read(ref Utf8JsonReader reader, int property) => property switch
        {
            0 => TryString(ref reader, out reason),
            1 => TryInt64(ref reader, out durationS),
            2 => TryDouble(ref reader, out sentiment),
            _ => TryBoolean(ref reader, out resolved),
        };
    }

    private struct CategorySection : ISection<CategoryAmount>, IElement<CategoryAmount>
    {
        public static JsonEncodedText[] Names { get; } = [CanonicalNames.Category, CanonicalNames.Quantity, CanonicalNames.Amount];

        private string? category;
        private long quantity;
        private double amount;

        public static bool TryRead(ref Utf8JsonReader reader, out CategoryAmount? value) =>
            TryObject<CategorySection, CategoryAmount>(ref reader, out value);

        public readonly CategoryAmount Build() => new(category!, quantity, amount);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Read(ref Utf8JsonReader reader, int property) => property switch
        {
            0 => TryString(ref reader, out category),
            1 => TryInt64(ref reader, out quantity),
            _ => TryDouble(ref reader, out amount),
        };
    }

    private struct SocialSection : ISection<SocialAttributes>
    {
        public static JsonEncodedText[] Names { get; } =
            [CanonicalNames.Platform, CanonicalNames.Interaction, CanonicalNames.Sentiment, CanonicalNames.Followers];

        private string? platform, interaction;
        private double? sentiment;
        private long? followers;

        public readonly SocialAttributes Build() => new(platform!, interaction!, sentiment, followers);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Read(ref Utf8JsonReader reader, int property) => property switch
        {
            0 => TryString(ref reader, out platform),
            1 => TryString(ref reader, out interaction),
            2 => TryDouble(ref reader, out sentiment),
            _ => TryInt64(ref reader, out followers),
        };
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

    private static bool TryInt64(ref Utf8JsonReader reader, out long? value) => Lift(TryInt64(ref reader, out long v), v, out value);

    private static bool TryDouble(ref Utf8JsonReader reader, out double value)
    {
        value = default;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out value);
    }

    private static bool TryDouble(ref Utf8JsonReader reader, out double? value) => Lift(TryDouble(ref reader, out double v), v, out value);

    private static bool Lift<T>(bool ok, T read, out T? value)
        where T : struct
    {
        value = read;
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
