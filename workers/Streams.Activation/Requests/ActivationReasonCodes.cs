using Streams.Contracts.Quarantine;

namespace Streams.Activation.Requests;

/// <summary>
/// Why a request is refused (sent to <c>activation-requests.quarantine</c>, never answered): CONTRACT §8. The codes §4 knows
/// too are spelt once, in <see cref="ReasonCodes"/>.
/// </summary>
public static class ActivationReasonCodes
{
    /// <summary>Not parseable as a JSON object.</summary>
    public const string MalformedJson = ReasonCodes.MalformedJson;

    /// <summary>A required field missing, of the wrong type, too long, or an unknown identifier type.</summary>
    public const string SchemaViolation = ReasonCodes.SchemaViolation;

    /// <summary>
    /// The record id, list id or requester looks like personal data (an e-mail address, an international phone number, or
    /// one of the row's own identifiers): it would be copied into the answer's key or the audit, so the row is refused.
    /// </summary>
    public const string PersonalDataInId = "personal_data_in_id";

    /// <summary>
    /// The worker failed on the row (reading or pseudonymizing it threw): a defect in the worker rather than in the row.
    /// Refused alone, so one such row never holds back the batch it came in.
    /// </summary>
    public const string ProcessingError = ReasonCodes.ProcessingError;
}
