using Microsoft.Extensions.Options;

namespace Streams.Ingest.Pseudonymization;

/// <summary>Refuses keys that would make weak or unparseable pseudonyms, so a bad configuration fails at start.</summary>
public sealed class PseudonymizationOptionsValidator : IValidateOptions<PseudonymizationOptions>
{
    /// <summary>Shorter secrets make the HMAC guessable by brute force over the small space of phone numbers.</summary>
    public const int MinKeyBytes = 16;

    private const int MaxKeyIdLength = 32;

    /// <summary>
    /// A consent request carries its identifier's pseudonym under every key and both normalization versions, and the
    /// profiles worker refuses more than 16 (its bound on identifiers per record): 8 keys.
    /// </summary>
    public const int MaxKeys = 8;

    public ValidateOptionsResult Validate(string? name, PseudonymizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var keyId = options.ActiveKeyId;
        if (string.IsNullOrEmpty(keyId))
        {
            failures.Add("Pseudonymization:ActiveKeyId is not set.");
        }
        else
        {
            ValidateKey(options, "ActiveKeyId", keyId, failures);
        }

        if (!string.IsNullOrEmpty(options.PreviousKeyId))
        {
            ValidateKey(options, "PreviousKeyId", options.PreviousKeyId, failures);
            if (options.PreviousKeyId == keyId && options.PreviousNormalizationVersion == options.NormalizationVersion)
            {
                failures.Add("Pseudonymization:PreviousKeyId and PreviousNormalizationVersion name the active key and version: nothing to link.");
            }
        }

        if (options.Keys.Count > MaxKeys)
        {
            failures.Add($"Pseudonymization:Keys lists {options.Keys.Count} keys; at most {MaxKeys} (remove keys whose rotation window closed long ago).");
        }

        // Every listed key is searched by consent, erasure and whois, so a broken one must fail here, not there.
        foreach (var id in options.Keys.Keys)
        {
            if (id != keyId && id != options.PreviousKeyId)
            {
                ValidateKey(options, $"Keys:{id}", id, failures);
            }
        }

        foreach (var (setting, version) in new[] { ("NormalizationVersion", options.NormalizationVersion), ("PreviousNormalizationVersion", options.PreviousNormalizationVersion) })
        {
            if (version is not (NormalizationRules.V1 or NormalizationRules.Latest))
            {
                failures.Add($"Pseudonymization:{setting} must be 1 or 2.");
            }
        }

        ValidateRegion(options, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateKey(PseudonymizationOptions options, string setting, string keyId, List<string> failures)
    {
        if (keyId.Length > MaxKeyIdLength || !keyId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            // The key id is the pseudonym's prefix up to the first ':', so it must not contain one.
            failures.Add($"Pseudonymization:{setting} must be 1–{MaxKeyIdLength} characters of letters, digits, '-', '_' or '.'.");
        }
        else if (!options.Keys.TryGetValue(keyId, out var secret))
        {
            failures.Add($"Pseudonymization:Keys has no key '{keyId}' (the {setting}).");
        }
        else if (DecodeKey(secret) is not { Length: >= MinKeyBytes })
        {
            failures.Add($"Pseudonymization:Keys:{keyId} must be base64 of at least {MinKeyBytes} bytes.");
        }
    }

    private static void ValidateRegion(PseudonymizationOptions options, List<string> failures)
    {
        var cc = options.DefaultCountryCode;
        if (cc is not null && (cc is not { Length: >= 1 and <= 3 } || !cc.All(char.IsAsciiDigit) || cc[0] == '0'
            || NormalizationRules.RegionOfCallingCode(cc) is null))
        {
            failures.Add("Pseudonymization:DefaultCountryCode (deprecated; use DefaultRegion) must be an assigned country calling code of 1–3 digits, without '+'.");
            return;
        }

        NormalizationRules rules;
        try
        {
            rules = NormalizationRules.For(NormalizationRules.Latest, options.EffectiveRegion());
        }
        catch (ArgumentException)
        {
            failures.Add($"Pseudonymization:DefaultRegion '{options.DefaultRegion}' is not a region code such as US, GB, DE, FR or IN.");
            return;
        }

        if (cc is not null && rules.CallingCode != cc)
        {
            failures.Add($"Pseudonymization:DefaultCountryCode {cc} disagrees with DefaultRegion {rules.DefaultRegion} (+{rules.CallingCode}); remove the deprecated DefaultCountryCode.");
        }
    }

    internal static byte[]? DecodeKey(string? base64)
    {
        if (string.IsNullOrWhiteSpace(base64))
        {
            return null;
        }

        var buffer = new byte[base64.Length];
        return Convert.TryFromBase64String(base64.Trim(), buffer, out var written) ? buffer[..written] : null;
    }
}
