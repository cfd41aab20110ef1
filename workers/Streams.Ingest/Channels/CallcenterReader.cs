using Streams.Contracts.Canonical;
using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;
using Streams.Ingest.Validation;

namespace Streams.Ingest.Channels;

/// <summary>CONTRACT §2.3. The caller's name and the transcript are type-checked and then forgotten.</summary>
internal static class CallcenterReader
{
    public static readonly string[] Reasons = ["billing", "delivery", "product", "returns", "complaint", "other"];

    public static CallcenterAttributes? Read(FieldReader f, IdentifierSet identifiers)
    {
        identifiers.Read(f, "phone", IdentifierType.Phone, FieldLengths.Phone, required: true);
        identifiers.Read(f, "email", IdentifierType.Email, FieldLengths.Email);
        f.CheckString("customer_name", FieldLengths.CustomerName);
        f.CheckString("transcript", FieldLengths.FreeText);
        var reason = f.Enum("reason", Reasons, required: true);
        var durationS = f.Integer("duration_s", min: 0, required: true);
        var sentiment = f.Number("sentiment", min: -1, max: 1, required: true);
        var resolved = f.Boolean("resolved", required: true);
        f.CheckString("agent_id", FieldLengths.AgentId, required: true);

        return reason is null || durationS is null || sentiment is null || resolved is null
            ? null
            : new CallcenterAttributes(reason, durationS.Value, sentiment.Value, resolved.Value);
    }
}
