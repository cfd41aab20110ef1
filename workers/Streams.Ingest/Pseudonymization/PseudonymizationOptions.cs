namespace Streams.Ingest.Pseudonymization;

/// <summary>Configuration section <c>Pseudonymization</c> (CONTRACT §3).</summary>
public sealed class PseudonymizationOptions
{
    public const string SectionName = "Pseudonymization";

    /// <summary>Key id → base64 secret (at least 16 bytes). Only the active key makes pseudonyms; others may stay listed during a rotation.</summary>
    public Dictionary<string, string> Keys { get; } = new(StringComparer.Ordinal);

    /// <summary>The key id used for new pseudonyms; it is the pseudonym's prefix.</summary>
    public string ActiveKeyId { get; set; } = "";

    /// <summary>Country calling code put in front of phone numbers given without <c>+</c> or <c>00</c>. Default <c>1</c>.</summary>
    public string DefaultCountryCode { get; set; } = "1";
}
