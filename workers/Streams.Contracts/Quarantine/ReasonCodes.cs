namespace Streams.Contracts.Quarantine;

/// <summary>The reason codes of CONTRACT §4, as they appear in quarantine records and in metrics.</summary>
public static class ReasonCodes
{
    public const string MalformedJson = "malformed_json";
    public const string OversizedRecord = "oversized_record";
    public const string SchemaViolation = "schema_violation";
    public const string InvalidEmail = "invalid_email";
    public const string InvalidPhone = "invalid_phone";
    public const string FutureTimestamp = "future_timestamp";
    public const string OutOfRange = "out_of_range";
    public const string UnknownCurrency = "unknown_currency";
    public const string TotalMismatch = "total_mismatch";

    /// <summary>Decided by the stateful de-duplication around ingest; see <c>IngestPipeline.HandleDuplicate</c>.</summary>
    public const string DuplicateEvent = "duplicate_event";

    /// <summary>
    /// Ingest itself failed on the record (judging it or writing its output threw): a defect rather than bad data,
    /// quarantined so that the record behind it still gets through.
    /// </summary>
    public const string ProcessingError = "processing_error";

    /// <summary>Decided by the profiles worker; listed here so every code has one spelling.</summary>
    public const string IdentityConflict = "identity_conflict";

    /// <summary>
    /// A worker's store refused the record alone with a data or integrity error (found by splitting the batch that
    /// failed, see <c>PoisonBisection</c>): the record is quarantined so that the rest of its batch gets through.
    /// </summary>
    public const string StoreRejected = "store_rejected";

    public static IReadOnlyList<string> All { get; } =
    [
        MalformedJson, OversizedRecord, SchemaViolation, InvalidEmail, InvalidPhone, FutureTimestamp,
        OutOfRange, UnknownCurrency, TotalMismatch, DuplicateEvent, ProcessingError, IdentityConflict,
        StoreRejected,
    ];

    /// <summary>
    /// Codes after which the event is still used, without the offending field or link. An invalid email or phone
    /// still quarantines the event when it was its only identifier.
    /// </summary>
    public static bool IsFlag(string code) => code is InvalidEmail or InvalidPhone or TotalMismatch or IdentityConflict;

    /// <summary>
    /// The verdict JSON Schemas must reach too: a sample is schema-invalid exactly when one of these codes is reported.
    /// Currency membership, email and phone validity, future timestamps and totals are semantic checks.
    /// </summary>
    public static bool IsSchemaInvalid(string code) => code is MalformedJson or SchemaViolation or OutOfRange;

    /// <summary>True when any of <paramref name="codes"/> makes the sample schema-invalid.</summary>
    public static bool IsSchemaInvalid(IEnumerable<string> codes) => codes.Any(IsSchemaInvalid);
}
