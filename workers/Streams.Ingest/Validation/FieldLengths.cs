namespace Streams.Ingest.Validation;

/// <summary>
/// The longest value of every free-form string field of CONTRACT §2, in Unicode code points as JSON Schema's
/// <c>maxLength</c> counts (schemas: <c>maxLength</c>). A longer value is a <c>schema_violation</c>: no real
/// producer sends a 10,000-character store id, and without a bound one field could make an output larger than the
/// broker takes. Enumerated fields are bounded by their values.
/// </summary>
public static class FieldLengths
{
    public const int EventId = 128;
    public const int Timestamp = 64;

    public const int Email = 320;
    public const int Phone = 64;
    public const int LoyaltyId = 128;
    public const int AnonymousId = 256;
    public const int Handle = 128;

    /// <summary>Consent's <c>identifier</c>: any identifier type, social as <c>platform:handle</c>.</summary>
    public const int ConsentIdentifier = 512;

    public const int CustomerName = 256;
    public const int PageCategory = 256;
    public const int Url = 8192;
    public const int UserAgent = 4096;
    public const int Ip = 64;
    public const int Currency = 16;
    public const int StoreId = 128;
    public const int Sku = 128;
    public const int Category = 256;
    public const int AgentId = 128;

    /// <summary>Free text (call transcripts, post text): read only to check its type, never copied.</summary>
    public const int FreeText = 100_000;
}
