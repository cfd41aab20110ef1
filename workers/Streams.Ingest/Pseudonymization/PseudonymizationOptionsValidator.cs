using Microsoft.Extensions.Options;

namespace Streams.Ingest.Pseudonymization;

/// <summary>Refuses keys that would make weak or unparseable pseudonyms, so a bad configuration fails at start.</summary>
public sealed class PseudonymizationOptionsValidator : IValidateOptions<PseudonymizationOptions>
{
    /// <summary>Shorter secrets make the HMAC guessable by brute force over the small space of phone numbers.</summary>
    public const int MinKeyBytes = 16;

    private const int MaxKeyIdLength = 32;

    public ValidateOptionsResult Validate(string? name, PseudonymizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var keyId = options.ActiveKeyId;
        if (string.IsNullOrEmpty(keyId))
        {
            failures.Add("Pseudonymization:ActiveKeyId is not set.");
        }
        else if (keyId.Length > MaxKeyIdLength || !keyId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            // The key id is the pseudonym's prefix up to the first ':', so it must not contain one.
            failures.Add($"Pseudonymization:ActiveKeyId must be 1–{MaxKeyIdLength} characters of letters, digits, '-', '_' or '.'.");
        }
        else if (!options.Keys.TryGetValue(keyId, out var secret))
        {
            failures.Add($"Pseudonymization:Keys has no key '{keyId}' (the active key id).");
        }
        else if (DecodeKey(secret) is not { Length: >= MinKeyBytes })
        {
            failures.Add($"Pseudonymization:Keys:{keyId} must be base64 of at least {MinKeyBytes} bytes.");
        }

        var cc = options.DefaultCountryCode;
        if (cc is not { Length: >= 1 and <= 3 } || !cc.All(char.IsAsciiDigit) || cc[0] == '0')
        {
            failures.Add("Pseudonymization:DefaultCountryCode must be a country calling code of 1–3 digits, without '+'.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
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
