using Streams.Contracts.Identifiers;
using Streams.Contracts.Quarantine;
using Streams.Ingest.Pseudonymization;

namespace Streams.Activation.Requests;

/// <summary>One data line of a list file: its line number, and the request it makes or why it makes none.</summary>
public sealed record ListLine(int Line, ActivationRequest? Request, QuarantineReason? Refusal);

/// <summary>
/// Reads a campaign list from CSV, one request per data line, streaming (a million lines never sit in memory at once).
/// The header names the columns: <c>record_id</c> and any of <c>email</c>, <c>phone</c>, <c>loyalty</c> (or
/// <c>loyalty_id</c>), <c>device</c>, <c>social</c> (<c>platform:handle</c>); other columns are ignored. Fields may be
/// quoted as RFC 4180 says (a quoted field may hold commas and doubled quotes, not line breaks). A refusal's detail never
/// quotes a value.
/// </summary>
public static class ActivationListReader
{
    public static IEnumerable<ListLine> Read(TextReader reader, string listId, string requestedBy, int? segmentId)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var header = reader.ReadLine() ?? throw new FormatException("the list is empty: the first line must be a header naming record_id");
        var columns = Split(header).Select(c => c.Trim().ToLowerInvariant()).ToList();
        var recordColumn = columns.IndexOf("record_id");
        if (recordColumn < 0)
        {
            throw new FormatException("the header names no record_id column");
        }

        var identifierColumns = columns.Select((name, index) => (Type: Type(name), Index: index)).Where(c => c.Type is not null)
            .Select(c => (Type: c.Type!.Value, c.Index)).ToList();
        if (identifierColumns.Count == 0)
        {
            throw new FormatException("the header names no identifier column (email, phone, loyalty, device, social)");
        }

        var number = 1;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var fields = Split(line);
            var recordId = recordColumn < fields.Count ? fields[recordColumn].Trim() : string.Empty;
            if (recordId.Length is 0 or > ActivationRequestReader.MaxIdLength)
            {
                yield return new ListLine(number, null, new QuarantineReason(ActivationReasonCodes.SchemaViolation, "record_id",
                    $"missing, blank or longer than {ActivationRequestReader.MaxIdLength} characters"));
                continue;
            }

            // Written back one per line: an escape sequence or a stray carriage return would reach the operator's terminal
            // or the next script in the pipe, as on the topic.
            if (ActivationRequestReader.HasControlCharacter(recordId))
            {
                yield return new ListLine(number, null, new QuarantineReason(ActivationReasonCodes.SchemaViolation, "record_id", "holds a control character"));
                continue;
            }

            if (ActivationRequestReader.LooksPersonal(recordId))
            {
                yield return new ListLine(number, null, new QuarantineReason(ActivationReasonCodes.PersonalDataInId, "record_id",
                    "looks like an e-mail address or a phone number; it must be the campaign system's opaque id"));
                continue;
            }

            var identifiers = identifierColumns.Where(c => c.Index < fields.Count && !string.IsNullOrWhiteSpace(fields[c.Index]))
                .Select(c => new RequestedIdentifier(c.Type, fields[c.Index])).ToList();
            if (identifiers.Any(i => i.Value.Length > ActivationRequestReader.MaxValueLength))
            {
                // The same limit as a request on the topic: a file is no way around it.
                yield return new ListLine(number, null, new QuarantineReason(ActivationReasonCodes.SchemaViolation, "identifiers",
                    $"an identifier longer than {ActivationRequestReader.MaxValueLength} characters"));
                continue;
            }

            yield return identifiers.Count == 0
                ? new ListLine(number, null, new QuarantineReason(ActivationReasonCodes.SchemaViolation, "identifiers", "no identifier on the line"))
                : new ListLine(number, new ActivationRequest(listId, recordId, requestedBy, identifiers, segmentId), null);
        }
    }

    private static IdentifierType? Type(string column) => column switch
    {
        "email" => IdentifierType.Email,
        "phone" => IdentifierType.Phone,
        "loyalty" or "loyalty_id" => IdentifierType.Loyalty,
        "device" => IdentifierType.Device,
        "social" => IdentifierType.Social,
        _ => null,
    };

    internal static List<string> Split(string line)
    {
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"' && field.Length == 0)
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }

        fields.Add(field.ToString());
        return fields;
    }
}
