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
/// One object's known fields, found in a single pass over its properties instead of a <see cref="JsonElement.TryGetProperty(string, out JsonElement)"/>
/// scan (and a UTF-16 to UTF-8 transcoding of the name) per field. The same pass finds duplicate names, so a document
/// of the usual shape needs no separate duplicate check: see <see cref="TryBuild"/>. One instance per thread and
/// nesting level, reused from record to record.
/// </summary>
internal sealed class FieldIndex
{
    /// <summary>Fields outside the table an object may have and still be indexed (each compared with the others).</summary>
    private const int MaxUnknown = 8;

    [ThreadStatic]
    private static FieldIndex? threadRoot;

    [ThreadStatic]
    private static List<FieldIndex>? threadItems;

    /// <summary>How many of <see cref="threadItems"/> hold references into the current document.</summary>
    [ThreadStatic]
    private static int itemsIndexed;

    /// <summary>Only for the build in progress, so each store item's index keeps no room of its own for it.</summary>
    [ThreadStatic]
    private static JsonProperty[]? threadUnknown;

    private readonly JsonElement[] values;

    private FieldIndex(int capacity) => values = new JsonElement[capacity];

    public FieldTable Table { get; private set; } = FieldTable.Consent;

    public static FieldIndex ForRoot => threadRoot ??= new FieldIndex(FieldTable.MaxCount);

    /// <summary>The field's value; <see cref="JsonValueKind.Undefined"/> when absent.</summary>
    public JsonElement this[int index] => values[index];

    /// <summary>
    /// The index of the store item at <paramref name="position"/> of the items array, built by the
    /// <see cref="TryIndexRecord"/> that returned true for this document: an item is indexed once, in the pass that
    /// checks it for duplicates, and read from that index.
    /// </summary>
    public static FieldIndex ForItemAt(int position) => threadItems![position];

    /// <summary>
    /// Indexes <paramref name="obj"/> by <paramref name="table"/>. False (and nothing may be concluded) unless every
    /// property name is free of escapes, no name occurs twice, at most <see cref="MaxUnknown"/> names are outside the
    /// table, and no value is an object or array except an array in <paramref name="containerField"/>: the caller then
    /// has the document checked the thorough way. When true, this object has no duplicate property.
    /// </summary>
    public bool TryBuild(JsonElement obj, FieldTable table, string? containerField = null)
    {
        Array.Clear(values);
        Table = table;
        var unknown = threadUnknown ??= new JsonProperty[MaxUnknown];
        var container = containerField is null ? -1 : table.IndexOf(containerField);
        var unknownCount = 0;
        try
        {
            foreach (var property in obj.EnumerateObject())
            {
                var name = JsonMarshal.GetRawUtf8PropertyName(property);
                if (name.Contains((byte)'\\'))
                {
                    return false;
                }

                var kind = property.Value.ValueKind;
                var index = table.IndexOf(name);
                if (index >= 0)
                {
                    if (values[index].ValueKind != JsonValueKind.Undefined
                        || (kind is JsonValueKind.Object or JsonValueKind.Array && !(index == container && kind == JsonValueKind.Array)))
                    {
                        return false;
                    }

                    values[index] = property.Value;
                    continue;
                }

                if (unknownCount == MaxUnknown || kind is JsonValueKind.Object or JsonValueKind.Array)
                {
                    return false;
                }

                for (var u = 0; u < unknownCount; u++)
                {
                    if (JsonMarshal.GetRawUtf8PropertyName(unknown[u]).SequenceEqual(name))
                    {
                        return false;
                    }
                }

                unknown[unknownCount++] = property;
            }

            return true;
        }
        finally
        {
            Array.Clear(unknown, 0, unknownCount);
        }
    }

    /// <summary>
    /// True when a document read with duplicate names allowed has none after all: its root is an object of
    /// <paramref name="table"/>'s usual shape (see <see cref="TryBuild"/>), and so is every object in its items array,
    /// of which there are at most <see cref="StoreReader.MaxItems"/> (more are rejected anyway; the thorough path
    /// decides, and no thread keeps an index for each of 100,000 items). Leaves <see cref="ForRoot"/> indexed for the
    /// root and <see cref="ForItemAt"/> for each object in the items array.
    /// </summary>
    public static bool TryIndexRecord(JsonElement root, FieldTable table)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        var index = ForRoot;
        if (!index.TryBuild(root, table, table == FieldTable.Store ? FieldTable.ItemsField : null))
        {
            return false;
        }

        if (table != FieldTable.Store || index[table.IndexOf(FieldTable.ItemsField)] is not { ValueKind: JsonValueKind.Array } items)
        {
            return true;
        }

        if (items.GetArrayLength() > StoreReader.MaxItems)
        {
            return false;
        }

        var indexes = threadItems ??= [];
        var position = 0;
        foreach (var element in items.EnumerateArray())
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                return false;
            }

            if (element.ValueKind == JsonValueKind.Object)
            {
                // Scalars before it take positions without an index: every position up to this one gets one.
                while (indexes.Count <= position)
                {
                    indexes.Add(new FieldIndex(FieldTable.StoreItem.Count));
                }

                itemsIndexed = Math.Max(itemsIndexed, position + 1);
                if (!indexes[position].TryBuild(element, FieldTable.StoreItem))
                {
                    return false;
                }
            }

            position++;
        }

        return true;
    }

    /// <summary>Drops this thread's references into a document that is about to be disposed.</summary>
    public static void ClearThread()
    {
        threadRoot?.Clear();
        for (var i = 0; i < itemsIndexed; i++)
        {
            threadItems![i].Clear();
        }

        itemsIndexed = 0;
    }

    private void Clear() => Array.Clear(values);
}
