using System.Text.Json;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Quarantine;
using Streams.Ingest.Pseudonymization;

namespace Streams.Activation.Requests;

/// <summary>
/// Reads one <c>activation-requests</c> value (schemas/activation-request.schema.json). Pure. A refusal's detail is in the
/// reader's own words and never quotes the value: the record holds raw identifiers.
/// </summary>
public static class ActivationRequestReader
{
    /// <summary>Longest list id, record id and requester, in UTF-16 units.</summary>
    public const int MaxIdLength = 128;

    /// <summary>Most identifiers in one row.</summary>
    public const int MaxIdentifiers = 10;

    /// <summary>Longest identifier value, as the consent topic's <c>identifier</c>.</summary>
    public const int MaxValueLength = 512;

    // A property given twice could be read as either: a row whose record id is "r" to one reader and an e-mail address to
    // another is refused rather than guessed at.
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    /// <summary>The request in <paramref name="value"/>, or null and why not.</summary>
    public static ActivationRequest? Read(ReadOnlyMemory<byte> value, out QuarantineReason? refusal)
    {
        refusal = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(value, DocumentOptions);
        }
        catch (JsonException)
        {
            refusal = new QuarantineReason(ActivationReasonCodes.MalformedJson, null, "not parseable as JSON, or a property given twice");
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                refusal = new QuarantineReason(ActivationReasonCodes.MalformedJson, null, "not a JSON object");
                return null;
            }

            if (Id(root, "list_id", ref refusal) is not { } listId
                || Id(root, "record_id", ref refusal) is not { } recordId
                || Id(root, "requested_by", ref refusal) is not { } requestedBy)
            {
                return null;
            }

            int? segment = null;
            if (root.TryGetProperty("segment_id", out var segmentElement) && segmentElement.ValueKind != JsonValueKind.Null)
            {
                if (segmentElement.ValueKind != JsonValueKind.Number || !segmentElement.TryGetInt32(out var s) || s < 0)
                {
                    refusal = Schema("segment_id", "not a non-negative integer");
                    return null;
                }

                segment = s;
            }

            if (!root.TryGetProperty("identifiers", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                refusal = Schema("identifiers", "missing or not an array");
                return null;
            }

            var count = list.GetArrayLength();
            if (count is 0 or > MaxIdentifiers)
            {
                refusal = Schema("identifiers", $"must hold 1 to {MaxIdentifiers} identifiers");
                return null;
            }

            var identifiers = new List<RequestedIdentifier>(count);
            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object
                    || !item.TryGetProperty("type", out var type) || Text(type) is not { } typeName
                    || !IdentifierTypeNames.TryParse(typeName, out var identifierType))
                {
                    refusal = Schema("identifiers", "an identifier without a known type");
                    return null;
                }

                if (!item.TryGetProperty("value", out var raw) || Text(raw) is not { Length: <= MaxValueLength } identifierValue)
                {
                    refusal = Schema("identifiers", $"an identifier without a string value of at most {MaxValueLength} characters");
                    return null;
                }

                identifiers.Add(new RequestedIdentifier(identifierType, identifierValue));
            }

            return new ActivationRequest(listId, recordId, requestedBy, identifiers, segment);
        }
    }

    /// <summary>
    /// True when <paramref name="id"/> has the shape of a personal identifier: an <c>@</c> (an e-mail address, a handle),
    /// or an international phone number (<c>+</c> or <c>00</c>, then 8–15 digits with separators). A bare number is not
    /// refused (record ids often are one); it is refused when it is the row's own phone (checked with the pseudonyms).
    /// </summary>
    public static bool LooksPersonal(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.Contains('@', StringComparison.Ordinal))
        {
            return true;
        }

        var trimmed = id.AsSpan().Trim();
        if (!trimmed.StartsWith("+") && !trimmed.StartsWith("00"))
        {
            return false;
        }

        Span<char> phone = stackalloc char[IdentifierNormalizer.MaxNormalizedLength(IdentifierType.Phone, trimmed.Length)];
        return IdentifierNormalizer.TryNormalizePhone(trimmed, "1", phone, out _);
    }

    private static string? Id(JsonElement root, string field, ref QuarantineReason? refusal)
    {
        if (!root.TryGetProperty(field, out var element)
            || Text(element) is not { Length: > 0 and <= MaxIdLength } id || string.IsNullOrWhiteSpace(id))
        {
            refusal = Schema(field, $"missing, blank or longer than {MaxIdLength} characters");
            return null;
        }

        // List ids and requesters are written to the log and the audit, record ids are the answers' keys: a line break or
        // another control character would let a list forge a log line or break a consumer's line-oriented tooling.
        if (HasControlCharacter(id))
        {
            refusal = Schema(field, "holds a control character");
            return null;
        }

        if (LooksPersonal(id))
        {
            refusal = new QuarantineReason(ActivationReasonCodes.PersonalDataInId, field,
                "looks like an e-mail address or a phone number; it must be the campaign system's opaque id");
            return null;
        }

        return id;
    }

    /// <summary>True when <paramref name="id"/> holds a C0 or C1 control character (a line break, an escape, NUL).</summary>
    public static bool HasControlCharacter(string id) =>
        id.AsSpan().ContainsAnyInRange('\u0000', '\u001f') || id.AsSpan().ContainsAnyInRange('\u007f', '\u009f');

    /// <summary>
    /// The string <paramref name="element"/> holds; null when it is not a string, or when its escapes make no valid
    /// UTF-16 (a lone surrogate such as <c>\ud800</c>: well-formed JSON that no .NET string can hold, which
    /// <see cref="JsonElement.GetString"/> answers with an exception).
    /// </summary>
    private static string? Text(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        try
        {
            return element.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static QuarantineReason Schema(string field, string detail) => new(ActivationReasonCodes.SchemaViolation, field, detail);
}
