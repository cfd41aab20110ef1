using System.Buffers.Binary;
using System.Runtime.CompilerServices;
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

    /// <summary>Each name's first eight bytes (fewer zero-padded) as one number: most names differ there.</summary>
    private readonly ulong[] prefixes;

    /// <summary>Each name as it begins a member in JSON without white space: quoted, with its colon.</summary>
    private readonly byte[][] members;

    public FieldTable(params string[] names)
    {
        this.names = names;
        utf8 = [.. names.Select(Encoding.UTF8.GetBytes)];
        prefixes = [.. utf8.Select(name => Prefix(name))];
        members = [.. utf8.Select(name => (byte[])[(byte)'"', .. name, (byte)'"', (byte)':'])];
    }

    public int Count => names.Length;

    /// <summary><c>"name":</c>, the bytes that begin the member of field <paramref name="index"/> in compact JSON.</summary>
    public ReadOnlySpan<byte> Member(int index) => members[index];

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

    /// <summary>
    /// The index of <paramref name="utf8Name"/>, looked for from <paramref name="from"/> on and then from the start:
    /// producers write their fields in one order, so the field after the last one found is nearly always the next.
    /// A name is compared as its length and first eight bytes, and only a longer one's rest byte by byte.
    /// </summary>
    public int IndexOf(ReadOnlySpan<byte> utf8Name, int from = 0)
    {
        var prefix = Prefix(utf8Name);
        var count = utf8.Length;
        var i = from < count ? from : 0;
        for (var looked = 0; looked < count; looked++)
        {
            var name = utf8[i];
            if (prefixes[i] == prefix && name.Length == utf8Name.Length
                && (name.Length <= sizeof(ulong) || name.AsSpan(sizeof(ulong)).SequenceEqual(utf8Name[sizeof(ulong)..])))
            {
                return i;
            }

            i = i + 1 == count ? 0 : i + 1;
        }

        return -1;
    }

    private static ulong Prefix(ReadOnlySpan<byte> name)
    {
        if (name.Length >= sizeof(ulong))
        {
            return BinaryPrimitives.ReadUInt64LittleEndian(name);
        }

        ulong prefix = 0;
        for (var b = 0; b < name.Length; b++)
        {
            prefix |= (ulong)name[b] << (8 * b);
        }

        return prefix;
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
/// One object's known fields, found in a single forward pass of a <see cref="JsonScanner"/> over the record: no
/// <see cref="JsonDocument"/> is built for a record of the usual shape, and each field is then read from its bytes
/// instead of a <see cref="JsonElement.TryGetProperty(string, out JsonElement)"/> scan per field. The same pass finds
/// duplicate names and checks the whole record is well-formed JSON, so a record of the usual shape needs no other
/// parse: see <see cref="TryIndexRecord"/>. One instance per thread and nesting level, reused from record to record.
/// </summary>
internal sealed class FieldIndex
{
    /// <summary>Fields outside the table an object may have and still be indexed (each compared with the others).</summary>
    private const int MaxUnknown = 8;

    [ThreadStatic]
    private static FieldIndex? threadRoot;

    private readonly Slot[] values;
    private ReadOnlyMemory<byte> record;

    /// <summary>
    /// The root's index of each object of the items array, by position: instance state of the thread's root rather than
    /// thread statics of their own, so reading a receipt's lines costs no thread-local look-up per line.
    /// </summary>
    private List<FieldIndex>? items;

    /// <summary>The kind of each element of the items array, by position.</summary>
    private JsonValueKind[]? itemKinds;

    /// <summary>How many of <see cref="items"/> hold a reference to the current record.</summary>
    private int itemsIndexed;

    /// <summary>
    /// For each table this index has read, the field that followed each field (and, at the table's count, the one that
    /// began the object) the last time: a producer writes its fields in one order, so that field is tried first, as one
    /// comparison of its <see cref="FieldTable.Member"/> bytes instead of reading a name and looking it up.
    /// </summary>
    private readonly List<(FieldTable Table, int[] Following)> learned = [];

    /// <summary>Tables this index remembers an order for; a further one (only tests make tables) is read without.</summary>
    private const int MaxLearned = 8;

    private int[] following = [];

    private FieldIndex(int capacity) => values = new Slot[capacity];

    public FieldTable Table { get; private set; } = FieldTable.Consent;

    /// <summary>How many elements the items array of the record this root indexed last has.</summary>
    public int ItemCount { get; private set; }

    public static FieldIndex ForRoot => threadRoot ??= new FieldIndex(FieldTable.MaxCount);

    /// <summary>The field's value; of kind <see cref="JsonValueKind.Undefined"/> when absent.</summary>
    public FieldValue this[int index] =>
        values[index] is { Kind: not JsonValueKind.Undefined } slot ? new FieldValue(slot.Kind, record.Span.Slice(slot.Start, slot.Length)) : default;

    /// <summary>The kind of the element at <paramref name="position"/> of the items array (below <see cref="ItemCount"/>).</summary>
    public JsonValueKind ItemKindAt(int position) => itemKinds![position];

    /// <summary>
    /// The index of the store item object at <paramref name="position"/> of the items array, built by the
    /// <see cref="TryIndexRecord"/> that returned true for this record: an item is indexed once, in the pass that
    /// checks it for duplicates, and read from that index. Only for a position whose kind is an object.
    /// </summary>
    public FieldIndex ForItemAt(int position) => items![position];

    /// <summary>
    /// Indexes <paramref name="utf8"/> (valid UTF-8) by <paramref name="table"/> in one pass. False (and nothing may be
    /// concluded) unless the record is a well-formed JSON object, every property name is free of escapes, no name occurs
    /// twice in an object, at most <see cref="MaxUnknown"/> names of an object are outside its table, no value is an
    /// object or array except store's items array, whose elements are scalars or objects of
    /// <see cref="FieldTable.StoreItem"/>'s usual shape and number at most <see cref="StoreReader.MaxItems"/> (more are
    /// rejected anyway; the thorough path decides, and no thread keeps an index for each of 100,000 items): the caller
    /// then has the record checked the thorough way, which also decides what is malformed. When true, the record is
    /// well-formed JSON without a duplicate property, and <see cref="ForRoot"/> holds its fields.
    /// </summary>
    public static bool TryIndexRecord(ReadOnlyMemory<byte> utf8, FieldTable table)
    {
        var scanner = new JsonScanner(utf8.Span);
        if (scanner.PeekValue() != JsonValueKind.Object)
        {
            return false;
        }

        var root = ForRoot;
        root.ItemCount = 0;
        root.Begin(utf8, table);
        return root.TryReadObject(ref scanner, table == FieldTable.Store ? table.IndexOf(FieldTable.ItemsField) : -1)
            && scanner.TrySkipToEnd();
    }

    /// <summary>Drops this thread's references to the record just judged.</summary>
    public static void ClearThread()
    {
        if (threadRoot is not { } root)
        {
            return;
        }

        root.Clear();
        for (var i = 0; i < root.itemsIndexed; i++)
        {
            root.items![i].Clear();
        }

        root.itemsIndexed = 0;
        root.ItemCount = 0;
    }

    private void Begin(ReadOnlyMemory<byte> utf8, FieldTable table)
    {
        Array.Clear(values);
        record = utf8;
        if (!ReferenceEquals(Table, table) || following.Length == 0)
        {
            Table = table;
            following = FollowingFor(table);
        }
    }

    private int[] FollowingFor(FieldTable table)
    {
        foreach (var (known, order) in learned)
        {
            if (ReferenceEquals(known, table))
            {
                return order;
            }
        }

        // Until a record shows otherwise, the table's own order; -1 after its last field.
        var first = new int[table.Count + 1];
        for (var i = 0; i < table.Count; i++)
        {
            first[i] = i + 1 < table.Count ? i + 1 : -1;
        }

        first[table.Count] = 0;
        if (learned.Count < MaxLearned)
        {
            learned.Add((table, first));
        }

        return first;
    }

    /// <summary>Reads the object that starts where the scanner is, up to and including its end.</summary>
    private bool TryReadObject(ref JsonScanner scanner, int container)
    {
        if (!scanner.TryConsume((byte)'{'))
        {
            return false;
        }

        if (scanner.TryConsume((byte)'}'))
        {
            return true;
        }

        // Inline arrays rather than stackalloc: a method with stackalloc and a loop is compiled once, fully but without
        // the profile that tiered compilation gathers, and this loop runs for every field of every record.
        var unknownStarts = default(UnknownNames);
        var unknownLengths = default(UnknownNames);
        var unknownCount = 0;
        var span = record.Span;
        var next = 0;
        var previous = Table.Count;
        do
        {
            int index;
            var nameStart = 0;
            var nameLength = 0;
            var expected = following[previous];
            if (expected >= 0 && scanner.TryConsumeExact(Table.Member(expected)))
            {
                index = expected;
            }
            else
            {
                if (!scanner.TryReadName(out nameStart, out nameLength))
                {
                    return false;
                }

                index = Table.IndexOf(span.Slice(nameStart, nameLength), next);
                if (index >= 0)
                {
                    following[previous] = index;
                }
            }

            var kind = scanner.PeekValue();
            var start = scanner.Position;
            if (index >= 0)
            {
                if (values[index].Kind != JsonValueKind.Undefined || kind == JsonValueKind.Object
                    || (kind == JsonValueKind.Array ? index != container || !TryReadItems(ref scanner) : !scanner.TrySkipScalar(kind)))
                {
                    return false;
                }

                values[index] = new Slot(kind, start, scanner.Position - start);
                next = index + 1;
                previous = index;
                continue;
            }

            if (unknownCount == MaxUnknown || !scanner.TrySkipScalar(kind))
            {
                return false;
            }

            var name = span.Slice(nameStart, nameLength);
            for (var u = 0; u < unknownCount; u++)
            {
                if (span.Slice(unknownStarts[u], unknownLengths[u]).SequenceEqual(name))
                {
                    return false;
                }
            }

            unknownStarts[unknownCount] = nameStart;
            unknownLengths[unknownCount++] = nameLength;
        }
        while (scanner.TryConsume((byte)','));

        return scanner.TryConsume((byte)'}');
    }

    /// <summary>Reads store's items array that starts where the scanner is, up to and including its end.</summary>
    private bool TryReadItems(ref JsonScanner scanner)
    {
        var kinds = itemKinds ??= new JsonValueKind[StoreReader.MaxItems];
        var indexes = items ??= [];
        if (!scanner.TryConsume((byte)'['))
        {
            return false;
        }

        var position = 0;
        if (!scanner.TryConsume((byte)']'))
        {
            do
            {
                var kind = scanner.PeekValue();
                if (position == StoreReader.MaxItems || kind == JsonValueKind.Array)
                {
                    return false;
                }

                if (kind == JsonValueKind.Object)
                {
                    // Scalars before it take positions without an index: every position up to this one gets one.
                    while (indexes.Count <= position)
                    {
                        indexes.Add(new FieldIndex(FieldTable.StoreItem.Count));
                    }

                    itemsIndexed = Math.Max(itemsIndexed, position + 1);
                    var item = indexes[position];
                    item.Begin(record, FieldTable.StoreItem);
                    if (!item.TryReadObject(ref scanner, container: -1))
                    {
                        return false;
                    }
                }
                else if (!scanner.TrySkipScalar(kind))
                {
                    return false;
                }

                kinds[position++] = kind;
            }
            while (scanner.TryConsume((byte)','));

            if (!scanner.TryConsume((byte)']'))
            {
                return false;
            }
        }

        ItemCount = position;
        return true;
    }

    private void Clear()
    {
        Array.Clear(values);
        record = default;
    }

    /// <summary>Where a field's value is in the record.</summary>
    private readonly record struct Slot(JsonValueKind Kind, int Start, int Length);

    /// <summary>Where each of an object's names outside its table starts, or how long it is.</summary>
    [InlineArray(MaxUnknown)]
    private struct UnknownNames
    {
        private int element;
    }
}
