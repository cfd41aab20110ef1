using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Streams.Contracts;

namespace Streams.Quality.Stewardship;

/// <summary>
/// What a steward may change in an original before it is replayed, and the change itself. Only fields the masked copy
/// shows as they are (CONTRACT.md §4) and that do not decide who the record is about: never an identifier (email,
/// phone, loyalty id, device id, handle, and the social platform, which is part of the handle's pseudonym), a name, an
/// IP, a user agent, a URL, free text, the <c>event_id</c> (ingest's de-duplication rests on it) or what a consent
/// request asks for.
/// </summary>
public static partial class ReplayEdits
{
    /// <summary>The longest value an edit may set (JSON text): a whole store basket fits, a smuggled document does not.</summary>
    public const int MaxValueLength = 64 * 1024;

    private static readonly FrozenDictionary<Channel, IReadOnlyList<string>> Editable = new Dictionary<Channel, IReadOnlyList<string>>
    {
        [Channel.Clickstream] = ["occurred_at", "event_type", "page_category", "dwell_ms", "revenue", "currency"],
        [Channel.Store] = ["occurred_at", "store_id", "total", "currency", "discount_pct", "items", "payment"],
        [Channel.Callcenter] = ["occurred_at", "reason", "duration_s", "sentiment", "resolved", "agent_id"],
        [Channel.Social] = ["occurred_at", "interaction", "sentiment", "followers"],
        [Channel.Consent] = ["occurred_at"],
    }.ToFrozenDictionary();

    /// <summary>The fields of <paramref name="channel"/> a replay may change.</summary>
    public static IReadOnlyList<string> EditableFields(Channel channel) => Editable[channel];

    /// <summary>
    /// <paramref name="original"/> with <paramref name="edits"/> applied (a JSON <c>null</c> removes the field), or null
    /// with the reason in <paramref name="refusal"/>. The reason names fields, never a value.
    /// </summary>
    public static byte[]? Apply(Channel channel, ReadOnlySpan<byte> original, IReadOnlyDictionary<string, string> edits, out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(edits);
        var allowed = Editable[channel];
        var parsed = new List<(string Field, JsonNode? Value)>(edits.Count);
        foreach (var (field, json) in edits.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (!allowed.Contains(field, StringComparer.Ordinal))
            {
                refusal = $"field '{Printable(field)}' may not be edited; editable on this topic: {string.Join(", ", allowed)}";
                return null;
            }

            if (json is null || json.Length > MaxValueLength)
            {
                refusal = $"the value for '{field}' is missing or longer than {MaxValueLength} characters";
                return null;
            }

            JsonNode? value;
            try
            {
                value = JsonNode.Parse(json);
            }
            catch (JsonException)
            {
                refusal = $"the value for '{field}' is not JSON (a string needs quotes: \"USD\")";
                return null;
            }

            if (LooksPersonal(value))
            {
                refusal = $"the value for '{field}' holds an '@': an edit must not bring personal data in";
                return null;
            }

            parsed.Add((field, value));
        }

        JsonObject? root;
        try
        {
            root = JsonNode.Parse(original) as JsonObject;
            // A JsonObject reads its properties on first use; a duplicate property name throws only then.
            _ = root?.Count;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            root = null;
        }

        if (root is null)
        {
            refusal = "the original is not a JSON object: it can only be replayed unchanged";
            return null;
        }

        foreach (var (field, value) in parsed)
        {
            if (value is null)
            {
                root.Remove(field);
            }
            else
            {
                root[field] = value;
            }
        }

        refusal = null;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(original.Length + 256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            root.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// True when <paramref name="steward"/> may be recorded as a steward's name: an operator account name (letters,
    /// digits, <c>.</c>, <c>_</c>, <c>-</c>, at most 64, at least one letter), so never an e-mail address or a phone number.
    /// </summary>
    public static bool IsStewardName(string? steward) => steward is not null && StewardPattern().IsMatch(steward);

    // An '@' anywhere in the new value: e-mail addresses and handles are what an editable field must never receive.
    private static bool LooksPersonal(JsonNode? value) => value switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s.Contains('@', StringComparison.Ordinal),
        JsonObject o => o.Any(p => p.Key.Contains('@', StringComparison.Ordinal) || LooksPersonal(p.Value)),
        JsonArray a => a.Any(LooksPersonal),
        _ => false,
    };

    // A field name is the steward's own typing, but it is echoed back: keep it short and plain.
    private static string Printable(string field) => FieldPattern().IsMatch(field) ? field : "(not a field name)";

    [GeneratedRegex("^(?=.*[A-Za-z])[A-Za-z0-9._-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex StewardPattern();

    [GeneratedRegex("^[a-z_]{1,32}$", RegexOptions.CultureInvariant)]
    private static partial Regex FieldPattern();
}
