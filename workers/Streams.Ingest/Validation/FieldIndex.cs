using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Streams.Contracts;
using Streams.Ingest.Channels;

namespace Streams.Ingest.Validation;

/// <summary>
/// The fields one kind of object can have, by name in UTF-16 (as the readers ask) and UTF-8 (as the JSON holds them).
/// </summary>
internal sealed class FieldTable
{
    private readonly string[] names;
    private readonly byte[][] utf8;

    public FieldTable(params string[] names)
    {
        this.names = names;
        utf8 = [.. names.Select(Encoding.UTF8.GetBytes)];
    }

    public int Count => names.Length;

    /// <summary>The readers pass the same literals the table was made of, so a reference comparison nearly always decides.</summary>
    public int IndexOf(string name)
    {
        for (var i = 0; i < names.Length; i++)
        {
            if (ReferenceEquals(names[i], name))
            {
                return i;
            }
        }

        return Array.IndexOf(names, name);
    }

    public int IndexOf(ReadOnlySpan<byte> utf8Name)
    {
        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i].AsSpan().SequenceEqual(utf8Name))
            {
                return i;
            }
        }

        return -1;
    }

    public static FieldTable For(Channel channel) => channel switch
    {
        Channel.Clickstream => Clickstream,
        Channel.Store => Store,
        Channel.Callcenter => Callcenter,
        Channel.Social => Social,
        Channel.Consent => Consent,
        _ => throw new ArgumentOutOfRangeException(nameof(channel), channel, null),
    };

    /// <summary>The one field whose value may be a container: store's <c>items</c>, an array of <see cref="StoreItem"/>.</summary>
    public const string ItemsField = "items";

    public static readonly FieldTable Clickstream = new(
        "event_id", "occurred_at", "anonymous_id", "email", "event_type", "page_category", "url", "dwell_ms", "revenue", "currency",
        "user_agent", "ip");

    public static readonly FieldTable Store = new(
        "event_id", "occurred_at", "loyalty_id", "email", "phone", "customer_name", "store_id", "total", "currency", "discount_pct",
        "payment", ItemsField);

    public static readonly FieldTable StoreItem = new("sku", "category", "quantity", "unit_price");

    public static readonly FieldTable Callcenter = new(
        "event_id", "occurred_at", "phone", "email", "customer_name", "transcript", "reason", "duration_s", "sentiment", "resolved",
        "agent_id");

    public static readonly FieldTable Social = new(
        "event_id", "occurred_at", "platform", "handle", "email", "interaction", "sentiment", "followers", "text");

    public static readonly FieldTable Consent = new("event_id", "occurred_at", "identifier_type", "identifier", "action");

    /// <summary>The most fields any table has: the room a <see cref="FieldIndex"/> keeps for values.</summary>
    public static readonly int MaxCount = new[] { Clickstream, Store, StoreItem, Callcenter, Social, Consent }.Max(t => t.Count);
}

/// <summary>
/// A field's value: its kind and its JSON text as the record holds it (a string with its quotes, escapes undecoded).
/// On the thorough path it also holds the <see cref="JsonElement"/> it came from, whose own reads stay the reference.
/// </summary>
internal readonly ref struct FieldValue
{
    public FieldValue(JsonValueKind kind, ReadOnlySpan<byte> raw)
    {
        Kind = kind;
        Raw = raw;
    }

    public FieldValue(JsonElement element)
    {
        Kind = element.ValueKind;
        Raw = JsonMarshal.GetRawUtf8Value(element);
        Element = element;
        HasElement = true;
    }

    public JsonValueKind Kind { get; }

    public ReadOnlySpan<byte> Raw { get; }

    public JsonElement Element { get; }

    public bool HasElement { get; }
}

/// <summary>
/// One object's known fields, found in a single forward pass of a <see cref="Utf8JsonReader"/> over the record: no
/// <see cref="JsonDocument"/> is built for a record of the usual shape, and each field is then read from its bytes
/// instead of a <see cref="JsonElement.TryGetProperty(string, out JsonElement)"/> scan per field. The same pass finds
/// duplicate names and checks the whole record is well-formed JSON, so a record of the usual shape needs no other
/// parse: see <see cref="TryIndexRecord"/>. One instance per thread and nesting level, reused from record to record.
/// </summary>
internal sealed class FieldIndex
{
    /// <summary>Fields outside the table an object may have and still be indexed (each compared with the others).</summary>
    private const int MaxUnknown = 8;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = IngestPipeline.MaxDepth };

    [ThreadStatic]
    private static FieldIndex? threadRoot;

    [ThreadStatic]
    private static List<FieldIndex>? threadItems;

    /// <summary>The kind of each element of the items array, by position.</summary>
    [ThreadStatic]
    private static JsonValueKind[]? threadItemKinds;

    /// <summary>How many of <see cref="threadItems"/> hold a reference to the current record.</summary>
    [ThreadStatic]
    private static int itemsIndexed;

    private readonly Slot[] values;
    private ReadOnlyMemory<byte> record;

    private FieldIndex(int capacity) => values = new Slot[capacity];

    public FieldTable Table { get; private set; } = FieldTable.Consent;

    [ThreadStatic]
    private static int itemCount;

    /// <summary>How many elements the items array of the record indexed last on this thread has.</summary>
    public static int ItemCount => itemCount;

    public static FieldIndex ForRoot => threadRoot ??= new FieldIndex(FieldTable.MaxCount);

    /// <summary>The field's value; of kind <see cref="JsonValueKind.Undefined"/> when absent.</summary>
    public FieldValue this[int index] =>
        values[index] is { Kind: not JsonValueKind.Undefined } slot ? new FieldValue(slot.Kind, record.Span.Slice(slot.Start, slot.Length)) : default;

    /// <summary>The kind of the element at <paramref name="position"/> of the items array (below <see cref="ItemCount"/>).</summary>
    public static JsonValueKind ItemKindAt(int position) => threadItemKinds![position];

    /// <summary>
    /// The index of the store item object at <paramref name="position"/> of the items array, built by the
    /// <see cref="TryIndexRecord"/> that returned true for this record: an item is indexed once, in the pass that
    /// checks it for duplicates, and read from that index. Only for a position whose kind is an object.
    /// </summary>
    public static FieldIndex ForItemAt(int position) => threadItems![position];

    /// <summary>
    /// Indexes <paramref name="utf8"/> by <paramref name="table"/> in one pass. False (and nothing may be concluded)
    /// unless the record is an object, every property name is free of escapes, no name occurs twice in an object, at
    /// most <see cref="MaxUnknown"/> names of an object are outside its table, no value is an object or array except
    /// store's items array, whose elements are scalars or objects of <see cref="FieldTable.StoreItem"/>'s usual shape
    /// and number at most <see cref="StoreReader.MaxItems"/> (more are rejected anyway; the thorough path decides, and no
    /// thread keeps an index for each of 100,000 items): the caller then has the record checked the thorough way. When
    /// true, the record is well-formed JSON without a duplicate property, and <see cref="ForRoot"/> holds its fields.
    /// </summary>
    /// <exception cref="JsonException">The record is not well-formed JSON (or nests deeper than <see cref="IngestPipeline.MaxDepth"/>).</exception>
    public static bool TryIndexRecord(ReadOnlyMemory<byte> utf8, FieldTable table)
    {
        var reader = new Utf8JsonReader(utf8.Span, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        itemCount = 0;
        var root = ForRoot;
        root.Begin(utf8, table);
        if (!root.TryReadObject(ref reader, table == FieldTable.Store ? table.IndexOf(FieldTable.ItemsField) : -1))
        {
            return false;
        }

        // Only white space may follow (the reader throws on anything else): the whole record has now been checked.
        return !reader.Read();
    }

    /// <summary>Drops this thread's references to the record just judged.</summary>
    public static void ClearThread()
    {
        threadRoot?.Clear();
        for (var i = 0; i < itemsIndexed; i++)
        {
            threadItems![i].Clear();
        }

        itemsIndexed = 0;
        itemCount = 0;
    }

    private static JsonValueKind KindOf(JsonTokenType token) => token switch
    {
        JsonTokenType.String => JsonValueKind.String,
        JsonTokenType.Number => JsonValueKind.Number,
        JsonTokenType.True => JsonValueKind.True,
        JsonTokenType.False => JsonValueKind.False,
        JsonTokenType.Null => JsonValueKind.Null,
        JsonTokenType.StartObject => JsonValueKind.Object,
        JsonTokenType.StartArray => JsonValueKind.Array,
        _ => JsonValueKind.Undefined,
    };

    private void Begin(ReadOnlyMemory<byte> utf8, FieldTable table)
    {
        Array.Clear(values);
        record = utf8;
        Table = table;
    }

    /// <summary>Reads the object whose start the reader is on, up to and including its end.</summary>
    private bool TryReadObject(ref Utf8JsonReader reader, int container)
    {
        Span<int> unknownStarts = stackalloc int[MaxUnknown];
        Span<int> unknownLengths = stackalloc int[MaxUnknown];
        var unknownCount = 0;
        var span = record.Span;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped)
            {
                return false;
            }

            var name = reader.ValueSpan;
            var nameStart = (int)reader.TokenStartIndex + 1;
            var index = Table.IndexOf(name);
            reader.Read();
            var token = reader.TokenType;
            var start = (int)reader.TokenStartIndex;
            if (index >= 0)
            {
                if (values[index].Kind != JsonValueKind.Undefined || token == JsonTokenType.StartObject
                    || (token == JsonTokenType.StartArray && (index != container || !TryReadItems(ref reader))))
                {
                    return false;
                }

                values[index] = new Slot(KindOf(token), start, (int)reader.BytesConsumed - start);
                continue;
            }

            if (unknownCount == MaxUnknown || token is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                return false;
            }

            for (var u = 0; u < unknownCount; u++)
            {
                if (span.Slice(unknownStarts[u], unknownLengths[u]).SequenceEqual(name))
                {
                    return false;
                }
            }

            unknownStarts[unknownCount] = nameStart;
            unknownLengths[unknownCount++] = name.Length;
        }

        return reader.TokenType == JsonTokenType.EndObject;
    }

    /// <summary>Reads store's items array whose start the reader is on, up to and including its end.</summary>
    private bool TryReadItems(ref Utf8JsonReader reader)
    {
        var kinds = threadItemKinds ??= new JsonValueKind[StoreReader.MaxItems];
        var indexes = threadItems ??= [];
        var position = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var token = reader.TokenType;
            if (position == StoreReader.MaxItems || token == JsonTokenType.StartArray)
            {
                return false;
            }

            if (token == JsonTokenType.StartObject)
            {
                // Scalars before it take positions without an index: every position up to this one gets one.
                while (indexes.Count <= position)
                {
                    indexes.Add(new FieldIndex(FieldTable.StoreItem.Count));
                }

                itemsIndexed = Math.Max(itemsIndexed, position + 1);
                var item = indexes[position];
                item.Begin(record, FieldTable.StoreItem);
                if (!item.TryReadObject(ref reader, container: -1))
                {
                    return false;
                }
            }

            kinds[position++] = KindOf(token);
        }

        itemCount = position;
        return reader.TokenType == JsonTokenType.EndArray;
    }

    private void Clear()
    {
        Array.Clear(values);
        record = default;
    }

    /// <summary>Where a field's value is in the record.</summary>
    private readonly record struct Slot(JsonValueKind Kind, int Start, int Length);
}
