using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Quarantine;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Validation;

namespace Streams.Ingest.Channels;

/// <summary>CONTRACT §2.2. The customer's name is type-checked and then forgotten.</summary>
internal static class StoreReader
{
    public static readonly string[] Payments = ["card", "cash", "mobile", "gift"];

    /// <summary>
    /// No till prints a receipt this long; the bound keeps a hostile record from costing more than a real one
    /// (schemas: <c>maxItems</c>).
    /// </summary>
    public const int MaxItems = 1000;

    /// <summary>Rounding noise in a correct total stays far below 0.01 of any currency.</summary>
    private const double AbsoluteTolerance = 0.01;
    private const double RelativeTolerance = 0.01;
    private const double Epsilon = 1e-9;

    /// <summary>Longer categories, or more distinct ones than a shop has, are normalized each time they occur.</summary>
    private const int MaxRememberedCategory = 32;
    private const int MaxRememberedCategories = 256;

    [ThreadStatic]
    private static ReceiptState? threadState;

    /// <summary>The sale's section of the canonical event, its categories as the receipt's sums (see <see cref="Sale"/>).</summary>
    public static Sale? Read(FieldReader f, IdentifierSet identifiers)
    {
        identifiers.Read(f, "loyalty_id", IdentifierType.Loyalty, FieldLengths.LoyaltyId);
        identifiers.Read(f, "email", IdentifierType.Email, FieldLengths.Email);
        identifiers.Read(f, "phone", IdentifierType.Phone, FieldLengths.Phone);
        f.CheckString("customer_name", FieldLengths.CustomerName);
        var storeId = f.String("store_id", FieldLengths.StoreId, required: true);
        var total = f.Number("total", min: 0, required: true);
        var currency = f.Currency("currency", required: true);
        var discountPct = f.Number("discount_pct", min: 0, max: 100);
        var payment = f.Enum("payment", Payments);
        var discountValid = discountPct is not null || !f.Has("discount_pct");
        var items = ReadItems(f, 1 - ((discountPct ?? 0) / 100));

        if (items is { } lines && total is { } t && discountValid)
        {
            var difference = Math.Abs(t - lines.Expected);
            if (difference > Math.Max(RelativeTolerance * lines.Expected, AbsoluteTolerance) + Epsilon)
            {
                f.Reasons.Add(ReasonCodes.TotalMismatch, "total",
                    "differs from Σ quantity × unit_price × (1 − discount_pct/100) by more than 1 % and 0.01");
            }
        }

        return storeId is null || total is null || currency is null || items is null
            ? null
            : new Sale(storeId, total.Value, currency, discountPct, items.Value.ItemCount, threadState!.Sums, payment);
    }

    /// <summary>
    /// The store section of the canonical event (<see cref="StoreAttributes"/>) for <paramref name="sale"/>: its
    /// categories are written from the sums in place, each amount rounded to 4 decimals, without an object per category.
    /// </summary>
    public static void Write(CanonicalEventWriter writer, in Sale sale)
    {
        writer.StartStore(sale.StoreId, sale.Total, sale.Currency, sale.DiscountPct, sale.ItemCount);
        foreach (ref readonly var sum in CollectionsMarshal.AsSpan(sale.Categories))
        {
            writer.Category(sum.Category, sum.Quantity, Math.Round(sum.Amount, 4));
        }

        writer.EndStore(sale.Payment);
    }

    /// <summary>
    /// A sale as <see cref="Read"/> judged it: the store section of its event, with its categories as the sums the
    /// thread keeps for the receipt it read last, so it is written (<see cref="Write"/>) before the thread reads another.
    /// </summary>
    public readonly record struct Sale(
        string StoreId, double Total, string Currency, double? DiscountPct, long ItemCount, List<CategorySum> Categories, string? Payment);

    private static (long ItemCount, double Expected)? ReadItems(FieldReader f, double discountFactor)
    {
        if (!f.TryGetKind("items", JsonValueKind.Array, "an array", required: true, out var items))
        {
            return null;
        }

        var elements = f.Elements("items", items);
        var length = elements.Length;
        if (length is 0 or > MaxItems)
        {
            f.Violation("items", $"must have 1–{MaxItems} items");
            return null;
        }

        var state = threadState ??= new ReceiptState();
        var sums = state.Sums;
        sums.Clear();
        long itemCount = 0;
        double expected = 0;
        var allValid = true;
        while (elements.MoveNext())
        {
            var i = elements.Position;
            var line = ReadLine(f, i, elements, state);
            if (line is not { } l)
            {
                allValid = false;
                continue;
            }

            var amount = l.Quantity * l.UnitPrice * discountFactor;
            if (!double.IsFinite(amount))
            {
                // 1e308 × 2 passes every field's own range; the product does not fit a double and cannot be written.
                f.Reasons.Add(ReasonCodes.OutOfRange, $"items[{i}]", "quantity × unit_price must be a finite number (at most 1.7976931348623157e308)");
                allValid = false;
                continue;
            }

            itemCount += l.Quantity;
            expected += amount;
            AddTo(sums, l.Category, l.Quantity, amount);
        }

        if (!allValid)
        {
            return null;
        }

        // Lines are never negative, so a finite sum means every partial sum (each category's) is finite too.
        if (!double.IsFinite(expected))
        {
            f.Reasons.Add(ReasonCodes.OutOfRange, "items", "Σ quantity × unit_price must be a finite number (at most 1.7976931348623157e308)");
            return null;
        }

        // At most 1000 × (2^53 − 1) fits a long, but not a JSON number a reader can hold exactly.
        if (itemCount > FieldReader.MaxSafeInteger)
        {
            f.Reasons.Add(ReasonCodes.OutOfRange, "items", $"Σ quantity must be at most {FieldReader.MaxSafeInteger:0}");
            return null;
        }

        return (itemCount, expected);
    }

    /// <summary>Sums in place: one category of the event per category at the end instead of one per item.</summary>
    private static void AddTo(List<CategorySum> sums, string category, long quantity, double amount)
    {
        var span = CollectionsMarshal.AsSpan(sums);
        for (var c = 0; c < span.Length; c++)
        {
            if (span[c].Category == category)
            {
                span[c].Quantity += quantity;
                span[c].Amount += amount;
                return;
            }
        }

        sums.Add(new CategorySum { Category = category, Quantity = quantity, Amount = amount });
    }

    private static (string Category, long Quantity, double UnitPrice)? ReadLine(
        FieldReader f, int i, in FieldReader.ArrayElements element, ReceiptState state)
    {
        if (element.Kind != JsonValueKind.Object)
        {
            f.Reasons.Add(ReasonCodes.SchemaViolation, $"items[{i}]", "must be an object");
            return null;
        }

        var item = element.Item;
        var hasSku = item.CheckString("sku", FieldLengths.Sku, required: true);
        var category = ReadCategory(item, state);
        var quantity = item.Integer("quantity", min: 1, required: true);
        var unitPrice = item.Number("unit_price", min: 0, required: true);
        return !hasSku || category is null || quantity is null || unitPrice is null
            ? null
            : (category, quantity.Value, unitPrice.Value);
    }

    /// <summary>
    /// A line's category, normalized. On the indexed path a category seen before is found by its bytes as the record holds
    /// them (<see cref="CategoryBytes"/>), before it is decoded or looked up by its text: that was most of what reading
    /// a line cost.
    /// </summary>
    /// <remarks>Locals not zeroed: the category's buffer is read only as far as it was written.</remarks>
    [SkipLocalsInit]
    private static string? ReadCategory(FieldReader item, ReceiptState state)
    {
        FieldValue field = default;
        var indexed = item.IsIndexed && item.TryGet("category", out field) && field.Kind == JsonValueKind.String;
        if (indexed && state.Bytes.TryGet(field.Raw, out var known))
        {
            return known;
        }

        Span<char> buffer = stackalloc char[MaxRememberedCategory];
        if (item.TryGetShortAscii("category", buffer, out var length))
        {
            var normalized = NormalizedCategory(state, buffer[..length]);
            if (indexed)
            {
                // Equal bytes are equal text, escapes and all.
                state.Bytes.Add(field.Raw, normalized);
            }

            return normalized;
        }

        return item.String("category", FieldLengths.Category, required: true) is { } text ? Normalize(text) : null;
    }

    /// <summary>
    /// What a thread keeps from receipt to receipt, looked up once per receipt rather than per line: the sums per category
    /// while a receipt's items are read, and the normalized form of each short category seen.
    /// </summary>
    private sealed class ReceiptState
    {
        public List<CategorySum> Sums { get; } = [];

        public Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Categories { get; } =
            new Dictionary<string, string>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

        public CategoryBytes Bytes { get; } = new();
    }

    /// <summary>
    /// Normalized categories by the JSON string that held them (quotes included), in a table of fixed size. A category
    /// takes a free slot and keeps it; one whose slot is taken is found by its text, as before, without allocating. After
    /// <see cref="MaxCollisions"/> such misses the table is emptied and learned again, so categories that filled it once
    /// (a hostile producer's) do not hold it for good. At most a few KiB a thread, whatever a producer sends.
    /// </summary>
    private sealed class CategoryBytes
    {
        private const int SlotBits = 8;
        private const int MaxCollisions = 1024;

        private readonly byte[]?[] keys = new byte[1 << SlotBits][];
        private readonly string?[] values = new string[1 << SlotBits];
        private int collisions;

        public bool TryGet(ReadOnlySpan<byte> raw, [NotNullWhen(true)] out string? normalized)
        {
            var slot = SlotOf(raw);
            normalized = values[slot];
            return normalized is not null && raw.SequenceEqual(keys[slot]);
        }

        public void Add(ReadOnlySpan<byte> raw, string normalized)
        {
            var slot = SlotOf(raw);
            if (values[slot] is null)
            {
                keys[slot] = raw.ToArray();
                values[slot] = normalized;
            }
            else if (++collisions == MaxCollisions)
            {
                Array.Clear(keys);
                Array.Clear(values);
                collisions = 0;
            }
        }

        /// <summary>The length and the first two and last bytes of the text, multiplied into the slot number's bits.</summary>
        private static int SlotOf(ReadOnlySpan<byte> raw)
        {
            var mixed = (uint)raw.Length;
            if (raw.Length > 3)
            {
                mixed = (((((mixed * 31) + raw[1]) * 31) + raw[2]) * 31) + raw[^2];
            }

            return (int)((mixed * 0x9E3779B1u) >> (32 - SlotBits));
        }
    }

    /// <summary>A category's sums over a receipt's lines, in place.</summary>
    public struct CategorySum
    {
        public string Category;
        public long Quantity;
        public double Amount;
    }

    private static string Normalize(string category) => category.Trim().ToLowerInvariant();

    /// <summary>
    /// A shop has a few dozen categories, written the same way on every receipt: each short one's normalized form is
    /// made once per thread instead of a string (or three) per item.
    /// </summary>
    private static string NormalizedCategory(ReceiptState state, ReadOnlySpan<char> category)
    {
        var remembered = state.Categories;
        if (remembered.TryGetValue(category, out var normalized))
        {
            return normalized;
        }

        normalized = Normalize(new string(category));
        if (remembered.Dictionary.Count < MaxRememberedCategories)
        {
            remembered[category] = normalized;
        }

        return normalized;
    }
}
