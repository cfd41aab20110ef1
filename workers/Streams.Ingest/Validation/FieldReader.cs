using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Streams.Contracts.Quarantine;

namespace Streams.Ingest.Validation;

/// <summary>
/// Typed reads of one JSON object's fields that record a reason for every problem instead of throwing, so one
/// pass finds all of them. A field given as JSON null counts as absent. Details say what was expected and never
/// echo the value, which may be personal data.
/// </summary>
internal readonly struct FieldReader
{
    /// <summary>2^53 − 1: above it a JSON number no longer holds every integer exactly (schemas: <c>maximum</c>).</summary>
    public const double MaxSafeInteger = 9_007_199_254_740_991;

    /// <summary>Escaped strings up to this many bytes are decoded on the stack, longer ones into a rented buffer.</summary>
    private const int StackBytes = 256;

    private readonly JsonElement obj;
    private readonly string? arrayName;
    private readonly int index;
    private readonly FieldIndex? fields;

    /// <param name="obj">The object, on the thorough path; unused (default) when <paramref name="fields"/> is given.</param>
    /// <param name="fields">The object's fields found in one pass, or null to look each one up in the object.</param>
    public FieldReader(JsonElement obj, ReasonCollector reasons, FieldIndex? fields = null)
        : this(obj, reasons, null, -1, fields)
    {
    }

    private FieldReader(JsonElement obj, ReasonCollector reasons, string? arrayName, int index, FieldIndex? fields)
    {
        this.obj = obj;
        Reasons = reasons;
        this.arrayName = arrayName;
        this.index = index;
        this.fields = fields;
    }

    public ReasonCollector Reasons { get; }

    /// <summary>Whether the object's fields were indexed from the record's bytes (the usual shape), not parsed the thorough way.</summary>
    public bool IsIndexed => fields is not null;

    /// <summary>The elements of the array field <paramref name="name"/> (store's items), as <see cref="TryGetKind"/> found it.</summary>
    /// <remarks>
    /// With an index for the record, every element of the array was indexed by position when the record was (see
    /// <see cref="FieldIndex.TryIndexRecord"/>); otherwise the array's own elements are enumerated.
    /// </remarks>
    public ArrayElements Elements(string name, FieldValue array) =>
        fields is not null ? new(this, name, fields) : new(this, name, array.Element);

    /// <summary>The field's path, built only when a problem is reported.</summary>
    public string Path(string name) => arrayName is null ? name : $"{arrayName}[{index}].{name}";

    public bool TryGet(string name, out FieldValue value)
    {
        if (fields is not null && fields.Table.IndexOf(name) is >= 0 and var i)
        {
            value = fields[i];
            if (value.Kind is not (JsonValueKind.Undefined or JsonValueKind.Null))
            {
                return true;
            }

            value = default;
            return false;
        }

        if (fields is null && obj.TryGetProperty(name, out var element) && element.ValueKind != JsonValueKind.Null)
        {
            value = new FieldValue(element);
            return true;
        }

        value = default;
        return false;
    }

    public bool Has(string name) => TryGet(name, out _);

    public void Violation(string name, string detail) => Reasons.Add(ReasonCodes.SchemaViolation, Path(name), detail);

    /// <summary>The field if present with the expected kind; a missing required or mistyped field is a violation.</summary>
    public bool TryGetKind(string name, JsonValueKind kind, string expected, bool required, out FieldValue value)
    {
        if (!TryGet(name, out value))
        {
            if (required)
            {
                Violation(name, "is required");
            }

            return false;
        }

        var matches = value.Kind == kind || (kind == JsonValueKind.True && value.Kind == JsonValueKind.False);
        if (!matches)
        {
            Violation(name, $"must be {expected}, not {Describe(value.Kind)}");
        }

        return matches;
    }

    /// <summary>A string of at most <paramref name="maxLength"/> code points (see <see cref="FieldLengths"/>).</summary>
    public string? String(string name, int maxLength, bool required = false)
    {
        if (!TryGetKind(name, JsonValueKind.String, "a string", required, out var value))
        {
            return null;
        }

        if (!TryGetString(value, out var text))
        {
            Violation(name, "must be valid Unicode text");
            return null;
        }

        if (text is not null && text.Length > maxLength && CodePoints(text) > maxLength)
        {
            TooLong(name, maxLength);
            return null;
        }

        return text;
    }

    /// <summary>
    /// The verdict of <see cref="String"/> for a field whose value is checked and then forgotten (names, IPs,
    /// transcripts, post text, ids nobody reads): true when it would have returned the text. The text is never
    /// materialized, which was most of what long free text cost.
    /// </summary>
    public bool CheckString(string name, int maxLength, bool required = false)
    {
        if (!TryGetKind(name, JsonValueKind.String, "a string", required, out var value))
        {
            return false;
        }

        // The raw value of a string includes its quotes.
        var raw = value.Raw[1..^1];
        if (raw.Contains((byte)'\\'))
        {
            // An escape can hide a lone surrogate, and the decoded length differs from the raw one: decode it, into a
            // buffer rather than a string (escaped free text was still a string per record, and most of its cost).
            if (!TryCountEscapedCodePoints(value.Raw, out var codePoints))
            {
                Violation(name, "must be valid Unicode text");
                return false;
            }

            if (codePoints > maxLength)
            {
                TooLong(name, maxLength);
                return false;
            }

            return true;
        }

        // The record was checked as UTF-8 before any field was read (IngestPipeline.Process), so unescaped text is
        // valid: checking each field again cost a call per string, a receipt's every line included.
        Debug.Assert(Utf8.IsValid(raw), "the record is checked as UTF-8 before its fields are read");

        // Unescaped text is the UTF-8 itself: every code point starts with exactly one byte that is not 10xxxxxx.
        if (raw.Length > maxLength && raw.Length - JsonStringText.CountContinuationBytes(raw) > maxLength)
        {
            TooLong(name, maxLength);
            return false;
        }

        return true;
    }

    /// <summary>A string with a character other than white space (schemas: <c>"pattern": "\\S"</c>).</summary>
    public string? NonBlankString(string name, int maxLength, bool required = false)
    {
        var text = String(name, maxLength, required);
        if (text is not null && string.IsNullOrWhiteSpace(text))
        {
            Violation(name, "must not be blank");
            return null;
        }

        return text;
    }

    /// <summary>One of <paramref name="allowed"/>, returned as the list's own instance so nothing is allocated.</summary>
    public string? Enum(string name, IReadOnlyList<string> allowed, bool required = false)
    {
        if (!TryGetKind(name, JsonValueKind.String, "a string", required, out var value))
        {
            return null;
        }

        if (!IsText(value))
        {
            Violation(name, "must be valid Unicode text");
            return null;
        }

        // Indexed: a foreach over the interface would box an enumerator for every enum field of every record.
        for (var i = 0; i < allowed.Count; i++)
        {
            if (TextEquals(value, allowed[i]))
            {
                return allowed[i];
            }
        }

        Violation(name, $"must be one of {string.Join(", ", allowed)}");
        return null;
    }

    /// <summary>An integer (<c>5.0</c> counts, <c>5.5</c> does not) from <paramref name="min"/> to 2^53 − 1.</summary>
    public long? Integer(string name, long min, bool required = false)
    {
        if (!TryGetKind(name, JsonValueKind.Number, "an integer", required, out var value))
        {
            return null;
        }

        if (!TryGetDouble(value, out var number))
        {
            Reasons.Add(ReasonCodes.OutOfRange, Path(name), $"must be an integer from {min} to {MaxSafeInteger:0}");
            return null;
        }

        if (Math.Floor(number) != number)
        {
            Violation(name, "must be an integer");
            return null;
        }

        if (number < min || number > MaxSafeInteger)
        {
            Reasons.Add(ReasonCodes.OutOfRange, Path(name), $"must be an integer from {min} to {MaxSafeInteger:0}");
            return null;
        }

        return (long)number;
    }

    /// <summary>A finite number within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public double? Number(string name, double min, double max = double.MaxValue, bool required = false)
    {
        if (!TryGetKind(name, JsonValueKind.Number, "a number", required, out var value))
        {
            return null;
        }

        // TryGetDouble fails for values beyond double's range (1e400), which are out of any range we accept.
        if (!TryGetDouble(value, out var number) || number < min || number > max)
        {
            var range = max == double.MaxValue ? $"≥ {min}" : $"from {min} to {max}";
            Reasons.Add(ReasonCodes.OutOfRange, Path(name), $"must be a number {range}");
            return null;
        }

        return number;
    }

    public bool? Boolean(string name, bool required = false) =>
        TryGetKind(name, JsonValueKind.True, "true or false", required, out var value) ? value.Kind == JsonValueKind.True : null;

    /// <summary>
    /// With an index for the record (the usual shape): true and the field's text in <paramref name="buffer"/> when the
    /// field is a string whose text is at most <paramref name="buffer"/>'s length in ASCII, which is then exactly what
    /// <see cref="String"/> would return for any limit at least that long, without making a string of it. False (and
    /// nothing reported) otherwise: the caller reads the field with <see cref="String"/>.
    /// </summary>
    public bool TryGetShortAscii(string name, Span<char> buffer, out int length)
    {
        length = 0;
        if (fields is null || !TryGet(name, out var value) || value.Kind != JsonValueKind.String)
        {
            return false;
        }

        var raw = value.Raw[1..^1];
        if (!raw.Contains((byte)'\\'))
        {
            return raw.Length <= buffer.Length && System.Text.Ascii.ToUtf16(raw, buffer, out length) == OperationStatus.Done;
        }

        // JavaScriptEncoder.Default, the .NET writers' default, escapes '+': many phones, emails and timestamps with an
        // offset come escaped, and were a string of the raw value each.
        // The decoder refuses text longer than the buffer as soon as it has filled it.
        return TryUnescapeAscii(value.Raw, buffer, out length);
    }

    /// <summary>An active ISO 4217 code. Any string is schema-valid; membership is a semantic check with its own code.</summary>
    public string? Currency(string name, bool required = false)
    {
        Span<char> buffer = stackalloc char[CurrencyCodes.Length];
        if (TryGetShortAscii(name, buffer, out var length) && CurrencyCodes.TryGetActive(buffer[..length], out var active))
        {
            // The code as the set holds it: no string per record.
            return active;
        }

        var code = String(name, FieldLengths.Currency, required);
        if (code is not null && !CurrencyCodes.IsActive(code))
        {
            Reasons.Add(ReasonCodes.UnknownCurrency, Path(name), "must be an active ISO 4217 currency code");
            return null;
        }

        return code;
    }

    /// <summary>
    /// Whether a JSON string is text: one without an escape is (the document was checked as UTF-8); one with an escape
    /// may hide a lone surrogate, on which <see cref="JsonElement.ValueEquals(string)"/> and <see cref="JsonElement.GetString"/> throw.
    /// </summary>
    public static bool IsText(JsonElement value) =>
        !JsonMarshal.GetRawUtf8Value(value)[1..^1].Contains((byte)'\\') || TryGetString(value, out _);

    /// <summary>
    /// A JSON string can escape a lone surrogate (<c>"\ud800"</c>), which is well-formed JSON but not text;
    /// <see cref="JsonElement.GetString"/> throws on it.
    /// </summary>
    public static bool TryGetString(JsonElement value, out string? text)
    {
        try
        {
            text = value.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            text = null;
            return false;
        }
    }

    /// <summary><see cref="IsText(JsonElement)"/> of a field's value.</summary>
    public static bool IsText(FieldValue value) =>
        value.HasElement ? IsText(value.Element) : !value.Raw[1..^1].Contains((byte)'\\') || TryGetString(value, out _);

    /// <summary>
    /// <see cref="TryGetString(JsonElement, out string?)"/> of a field's value. From the record's bytes, the text is what
    /// <see cref="JsonElement.GetString"/> makes of them: the UTF-8 itself without an escape (the record was checked as
    /// UTF-8), otherwise <see cref="JsonStringText.TryDecode"/>, which refuses a lone surrogate as the element does.
    /// </summary>
    [SkipLocalsInit]
    public static bool TryGetString(FieldValue value, out string? text)
    {
        if (value.HasElement)
        {
            return TryGetString(value.Element, out text);
        }

        var inner = value.Raw[1..^1];
        if (!inner.Contains((byte)'\\'))
        {
            text = Encoding.UTF8.GetString(inner);
            return true;
        }

        // Decoding never lengthens the text: each byte gives at most one UTF-16 code unit.
        char[]? rented = null;
        var buffer = inner.Length <= StackBytes ? stackalloc char[StackBytes] : (rented = ArrayPool<char>.Shared.Rent(inner.Length));
        try
        {
            text = JsonStringText.TryDecode(inner, buffer, out var length) ? new string(buffer[..length]) : null;
            return text is not null;
        }
        finally
        {
            if (rented is not null)
            {
                // The field's text (a name, a transcript) is not left in a shared pool for whoever rents it next.
                rented.AsSpan(0, inner.Length).Clear();
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Surrogate pairs count once; a lone surrogate counts as one, as a JSON Schema validator would.</summary>
    public static int CodePoints(string value)
    {
        var count = 0;
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }

            count++;
        }

        return count;
    }

    /// <summary><see cref="JsonElement.ValueEquals(string)"/> of a string value that <see cref="IsText(FieldValue)"/>.</summary>
    private static bool TextEquals(FieldValue value, string text)
    {
        if (value.HasElement)
        {
            return value.Element.ValueEquals(text);
        }

        var inner = value.Raw[1..^1];
        if (!inner.Contains((byte)'\\') && Ascii.IsValid(text))
        {
            // Unescaped, the bytes are the text; an ASCII text equals only the same ASCII bytes.
            return Ascii.Equals(inner, text);
        }

        var reader = new Utf8JsonReader(value.Raw);
        reader.Read();
        return reader.ValueTextEquals(text);
    }

    /// <summary><see cref="JsonElement.TryGetDouble"/> of a number: the number's whole text parsed as a double.</summary>
    private static bool TryGetDouble(FieldValue value, out double number)
    {
        if (value.HasElement)
        {
            return value.Element.TryGetDouble(out number);
        }

        return PlainDecimal.TryParse(value.Raw, out number);
    }

    private void TooLong(string name, int maxLength) => Violation(name, $"must be at most {maxLength} characters");

    /// <summary>
    /// The text of a JSON string with an escape (<paramref name="rawString"/>, quotes included) in
    /// <paramref name="buffer"/> when it is ASCII and fits. False for a lone surrogate (refused as
    /// <see cref="JsonElement.GetString"/> refuses it; <see cref="String"/> then reports it), non-ASCII text or text
    /// longer than the buffer.
    /// </summary>
    private static bool TryUnescapeAscii(ReadOnlySpan<byte> rawString, Span<char> buffer, out int length) =>
        JsonStringText.TryDecode(rawString[1..^1], buffer, out length) && System.Text.Ascii.IsValid(buffer[..length]);

    /// <summary>
    /// The code points of a JSON string with an escape (<paramref name="rawString"/>, quotes included), counted as
    /// <see cref="CodePoints"/> counts the string; false for a lone surrogate, which <see cref="JsonElement.GetString"/> refuses.
    /// </summary>
    private static bool TryCountEscapedCodePoints(ReadOnlySpan<byte> rawString, out int codePoints) =>
        JsonStringText.TryCountCodePoints(rawString[1..^1], out codePoints);

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => "null",
    };

    /// <summary>The elements of an array field, each with a reader for it when it is an object.</summary>
    public struct ArrayElements
    {
        private readonly FieldReader parent;
        private readonly string name;
        private readonly FieldIndex? root;
        private JsonElement.ArrayEnumerator elements;
        private int position;

        internal ArrayElements(FieldReader parent, string name, FieldIndex root)
        {
            this.parent = parent;
            this.name = name;
            this.root = root;
            Length = root.ItemCount;
            position = -1;
        }

        internal ArrayElements(FieldReader parent, string name, JsonElement array)
        {
            this.parent = parent;
            this.name = name;
            elements = array.EnumerateArray();
            Length = array.GetArrayLength();
            position = -1;
        }

        public int Length { get; }

        /// <summary>The current element's position in the array.</summary>
        public readonly int Position => position;

        public readonly JsonValueKind Kind => root is not null ? root.ItemKindAt(position) : elements.Current.ValueKind;

        /// <summary>A reader for the current element, which must be an object.</summary>
        public readonly FieldReader Item => root is not null
            ? new FieldReader(default, parent.Reasons, name, position, root.ForItemAt(position))
            : new FieldReader(elements.Current, parent.Reasons, name, position, null);

        public bool MoveNext()
        {
            position++;
            return root is not null ? position < Length : elements.MoveNext();
        }
    }
}
