using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Streams.Ingest.Pseudonymization;

/// <summary>
/// Replaces a normalized identifier by <c>keyId + ":" + hex(HMAC-SHA256(key, type + ":" + normalized))[0..32]</c>
/// (CONTRACT §3). Thread-safe; apart from the returned string, nothing is allocated per call.
/// </summary>
/// <remarks>
/// Each thread keeps one keyed HMAC and resets it after every MAC: the one-shot <see cref="HMACSHA256.HashData(byte[], byte[])"/>
/// makes OpenSSL fetch the algorithm, allocate a context and hash the padded key on every call, which measured more
/// than twice the cost of a reused context (see <c>benchmarks/README.md</c>). Keyed by the key array, so a pseudonymizer
/// with another key (a rotation, a test) never uses a context keyed for this one.
/// </remarks>
public sealed class Pseudonymizer
{
    /// <summary>16 of the MAC's 32 bytes: collisions stay negligible at any realistic number of people.</summary>
    private const int PseudonymBytes = 16;

    /// <summary>Above this the HMAC input is rented rather than put on the stack (sized to the value: the stack is zeroed).</summary>
    private const int StackBytes = 512;

    /// <summary>The HMAC keyed for the pseudonymizer this thread used last; another instance (another key) replaces it.</summary>
    [ThreadStatic]
    private static KeyedHmac? threadHmac;

    /// <summary>
    /// Separates the digest key from the pseudonym key: a raw value that happened to read <c>email:x@y</c> must not
    /// get a digest equal to the full MAC behind that address's pseudonym.
    /// </summary>
    private static ReadOnlySpan<byte> DigestKeyLabel => "streams raw-digest v1"u8;

    private readonly byte[] key;
    private readonly byte[] digestKey;
    private readonly string defaultCountryCode;

    public Pseudonymizer(IOptions<PseudonymizationOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        var result = new PseudonymizationOptionsValidator().Validate(null, value);
        if (result.Failed)
        {
            throw new OptionsValidationException(PseudonymizationOptions.SectionName, typeof(PseudonymizationOptions), result.Failures);
        }

        KeyId = value.ActiveKeyId;
        key = PseudonymizationOptionsValidator.DecodeKey(value.Keys[KeyId])!;
        digestKey = HMACSHA256.HashData(key, DigestKeyLabel);
        defaultCountryCode = value.DefaultCountryCode;
    }

    /// <summary>The active key id, the prefix of every pseudonym made here.</summary>
    public string KeyId { get; }

    /// <summary>The pseudonym of an already normalized value.</summary>
    public string Pseudonymize(IdentifierType type, ReadOnlySpan<char> normalized)
    {
        var prefix = IdentifierTypeNames.Utf8Prefix(type);
        var length = prefix.Length + Encoding.UTF8.GetMaxByteCount(normalized.Length);
        byte[]? rented = null;
        var message = length <= StackBytes ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            prefix.CopyTo(message);
            var used = prefix.Length + Encoding.UTF8.GetBytes(normalized, message[prefix.Length..]);
            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            ComputeMac(message[..used], mac);

            Span<char> pseudonym = stackalloc char[KeyId.Length + 1 + (2 * PseudonymBytes)];
            KeyId.CopyTo(pseudonym);
            pseudonym[KeyId.Length] = ':';
            Convert.TryToHexStringLower(mac[..PseudonymBytes], pseudonym[(KeyId.Length + 1)..], out _);
            return new string(pseudonym);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private void ComputeMac(ReadOnlySpan<byte> message, Span<byte> mac)
    {
        var cached = threadHmac;
        if (cached is null || !ReferenceEquals(cached.Key, key))
        {
            cached?.Hmac.Dispose();
            threadHmac = cached = new KeyedHmac(key, IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key));
        }

        try
        {
            cached.Hmac.AppendData(message);
            cached.Hmac.GetHashAndReset(mac);
        }
        catch
        {
            // A failure between AppendData and the reset would leave data in the MAC that the next pseudonym would include.
            threadHmac = null;
            cached.Hmac.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Lower-case hex HMAC-SHA256 of raw bytes under a key derived from the active key (CONTRACT §4 <c>raw_sha256</c>,
    /// quarantine keys): whoever holds the key can match an original, nobody else can test guesses against it.
    /// </summary>
    /// <remarks>One-shot: it runs for quarantined records only, never on the hot path.</remarks>
    public string Digest(ReadOnlySpan<byte> raw)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(digestKey, raw, mac);
        return Convert.ToHexStringLower(mac);
    }

    /// <summary>Normalizes and pseudonymizes a raw value; false when it is not a valid identifier of that type.</summary>
    /// <remarks>For <see cref="IdentifierType.Social"/> the raw value is <c>platform:handle</c>.</remarks>
    public bool TryPseudonymize(IdentifierType type, ReadOnlySpan<char> raw, [NotNullWhen(true)] out string? pseudonym) =>
        TryNormalizeAndPseudonymize(type, raw, socialPlatform: null, out pseudonym);

    /// <summary>The social pseudonym of a platform and a handle as the social channel sends them.</summary>
    public bool TryPseudonymizeSocial(string platform, ReadOnlySpan<char> handle, [NotNullWhen(true)] out string? pseudonym) =>
        TryNormalizeAndPseudonymize(IdentifierType.Social, handle, platform, out pseudonym);

    private bool TryNormalizeAndPseudonymize(
        IdentifierType type, ReadOnlySpan<char> raw, string? socialPlatform, [NotNullWhen(true)] out string? pseudonym)
    {
        pseudonym = null;
        var length = IdentifierNormalizer.MaxNormalizedLength(type, raw.Length + (socialPlatform?.Length ?? 0));
        char[]? rented = null;
        var normalized = length <= StackBytes ? stackalloc char[length] : (rented = ArrayPool<char>.Shared.Rent(length));
        try
        {
            var valid = socialPlatform is null
                ? IdentifierNormalizer.TryNormalize(type, raw, defaultCountryCode, normalized, out var written)
                : IdentifierNormalizer.TryNormalizeSocial(socialPlatform, raw, normalized, out written);
            if (valid)
            {
                pseudonym = Pseudonymize(type, normalized[..written]);
            }

            return pseudonym is not null;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private sealed record KeyedHmac(byte[] Key, IncrementalHash Hmac);
}
