using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Streams.Contracts.Identifiers;
using Streams.Contracts.Outputs;

namespace Streams.Ingest.Pseudonymization;

/// <summary>
/// Replaces a normalized identifier by <c>keyId + ":" + hex(HMAC-SHA256(key, type + ":" + normalized))[0..32]</c>
/// (CONTRACT §3). Thread-safe; apart from the returned string, nothing is allocated per call (phone numbers aside:
/// libphonenumber parses into objects).
/// </summary>
/// <remarks>
/// New pseudonyms are made under the active key and normalization version. During a rotation window the same
/// identifier's pseudonym under the previous key and version comes with it (<see cref="TryPseudonymize(IdentifierType, ReadOnlySpan{char}, out string?, out string?)"/>),
/// so the profiles worker can link the two; lookups (consent, erasure, <c>whois</c>) try every configured key.
/// </remarks>
public sealed class Pseudonymizer : IOutputSealer
{
    /// <summary>Above this the normalized value is rented rather than put on the stack.</summary>
    private const int StackChars = 512;

    private readonly KeyGeneration active;
    private readonly KeyGeneration? previous;
    private readonly KeyGeneration[] lookups;

    public Pseudonymizer(IOptions<PseudonymizationOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        var result = new PseudonymizationOptionsValidator().Validate(null, value);
        if (result.Failed)
        {
            throw new OptionsValidationException(PseudonymizationOptions.SectionName, typeof(PseudonymizationOptions), result.Failures);
        }

        var region = value.EffectiveRegion();
        var keys = value.Keys.ToDictionary(k => k.Key, k => PseudonymizationOptionsValidator.DecodeKey(k.Value)!, StringComparer.Ordinal);
        // The active key's seal key first: outputs are sealed with it; the others still verify outputs written before a rotation.
        sealMacs = [.. keys.OrderBy(k => k.Key == value.ActiveKeyId ? 0 : 1).Select(k => KeyedHmacSha256.Create(HMACSHA256.HashData(k.Value, SealKeyLabel)))];
        active = new KeyGeneration(value.ActiveKeyId, keys[value.ActiveKeyId], NormalizationRules.For(value.NormalizationVersion, region));
        if (!string.IsNullOrEmpty(value.PreviousKeyId))
        {
            previous = new KeyGeneration(value.PreviousKeyId, keys[value.PreviousKeyId], NormalizationRules.For(value.PreviousNormalizationVersion, region));
        }

        // Every configured key under both versions: an identifier last seen long ago may hold any of these pseudonyms.
        var all = new List<KeyGeneration> { active };
        if (previous is not null)
        {
            all.Add(previous);
        }

        foreach (var (id, key) in keys.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            foreach (var version in new[] { NormalizationRules.Latest, NormalizationRules.V1 })
            {
                if (!all.Exists(g => g.KeyId == id && g.Rules.Version == version))
                {
                    all.Add(new KeyGeneration(id, key, NormalizationRules.For(version, region)));
                }
            }
        }

        lookups = [.. all];
    }

    /// <summary>Bytes of an output seal (<see cref="Seal"/>).</summary>
    public const int SealBytes = OutputHeaders.SealBytes;

    /// <summary>Separates the seal key from the pseudonym and digest keys: no seal is ever a pseudonym or a digest.</summary>
    private static ReadOnlySpan<byte> SealKeyLabel => "streams output-seal v1"u8;

    /// <summary>Keyed once: every output ingest writes is sealed, and a one-shot HMAC costs several times a keyed one.</summary>
    private readonly KeyedHmacSha256[] sealMacs;

    /// <summary>The active key id, the prefix of every pseudonym made here.</summary>
    public string KeyId => active.KeyId;

    /// <summary>
    /// The first <see cref="SealBytes"/> bytes of HMAC-SHA256 of <paramref name="message"/> under a key derived from the
    /// active key: ingest seals what it writes so that, after a restart, it recognizes its own outputs and never takes a
    /// record someone else wrote to its output topics for one of them.
    /// </summary>
    public void Seal(ReadOnlySpan<byte> message, Span<byte> seal)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        sealMacs[0].Compute(message, mac);
        mac[..SealBytes].CopyTo(seal);
    }

    /// <summary>True when <paramref name="seal"/> is <paramref name="message"/>'s seal under any configured key.</summary>
    public bool IsSealed(ReadOnlySpan<byte> message, ReadOnlySpan<byte> seal)
    {
        if (seal.Length != SealBytes)
        {
            return false;
        }

        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        foreach (var sealMac in sealMacs)
        {
            sealMac.Compute(message, mac);
            if (CryptographicOperations.FixedTimeEquals(mac[..SealBytes], seal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The normalization rules new pseudonyms are made with.</summary>
    public NormalizationRules Rules => active.Rules;

    /// <summary>The key and normalization version linked to the active ones during a rotation window; null outside one.</summary>
    public (string KeyId, int NormalizationVersion)? Previous => previous is null ? null : (previous.KeyId, previous.Rules.Version);

    /// <summary>The pseudonym of an already normalized value under the active key.</summary>
    public string Pseudonymize(IdentifierType type, ReadOnlySpan<char> normalized) => active.Pseudonymize(type, normalized);

    /// <summary>
    /// Lower-case hex HMAC-SHA256 of raw bytes under a key derived from the active key (CONTRACT §4 <c>raw_sha256</c>,
    /// quarantine keys): whoever holds the key can match an original, nobody else can test guesses against it.
    /// </summary>
    /// <remarks>One-shot: it runs for quarantined records only, never on the hot path.</remarks>
    public string Digest(ReadOnlySpan<byte> raw) => active.Digest(raw);

    /// <summary>Normalizes and pseudonymizes a raw value; false when it is not a valid identifier of that type.</summary>
    /// <remarks>For <see cref="IdentifierType.Social"/> the raw value is <c>platform:handle</c>.</remarks>
    public bool TryPseudonymize(IdentifierType type, ReadOnlySpan<char> raw, [NotNullWhen(true)] out string? pseudonym) =>
        TryPseudonymize(active, type, raw, socialPlatform: null, out pseudonym);

    /// <summary>
    /// As <see cref="TryPseudonymize(IdentifierType, ReadOnlySpan{char}, out string?)"/>, with the same identifier's
    /// pseudonym under the previous key and version during a rotation window (null outside one, when the value is not
    /// valid under the previous rules, or when both are the same pseudonym).
    /// </summary>
    public bool TryPseudonymize(IdentifierType type, ReadOnlySpan<char> raw, [NotNullWhen(true)] out string? pseudonym, out string? previousPseudonym)
    {
        previousPseudonym = null;
        if (!TryPseudonymize(active, type, raw, socialPlatform: null, out pseudonym))
        {
            return false;
        }

        if (previous is not null && TryPseudonymize(previous, type, raw, socialPlatform: null, out var p) && p != pseudonym)
        {
            previousPseudonym = p;
        }

        return true;
    }

    /// <summary>The social pseudonym of a platform and a handle as the social channel sends them.</summary>
    public bool TryPseudonymizeSocial(string platform, ReadOnlySpan<char> handle, [NotNullWhen(true)] out string? pseudonym) =>
        TryPseudonymize(active, IdentifierType.Social, handle, platform, out pseudonym);

    /// <summary>The social pseudonym and, during a rotation window, the previous one (see the other overloads).</summary>
    public bool TryPseudonymizeSocial(
        string platform, ReadOnlySpan<char> handle, [NotNullWhen(true)] out string? pseudonym, out string? previousPseudonym)
    {
        previousPseudonym = null;
        if (!TryPseudonymize(active, IdentifierType.Social, handle, platform, out pseudonym))
        {
            return false;
        }

        if (previous is not null && TryPseudonymize(previous, IdentifierType.Social, handle, platform, out var p) && p != pseudonym)
        {
            previousPseudonym = p;
        }

        return true;
    }

    /// <summary>
    /// Every pseudonym the identifier may hold: under each configured key and each normalization version, the active
    /// one first, without repeats. Empty when the value is not valid under the active rules. For consent, erasure and
    /// <c>whois</c>, which must find a profile whichever key it was last seen under.
    /// </summary>
    public IReadOnlyList<string> LookupPseudonyms(IdentifierType type, ReadOnlySpan<char> raw) =>
        TryPseudonymize(active, type, raw, socialPlatform: null, out var first) ? LookupPseudonyms(type, raw, first) : [];

    /// <summary>
    /// As <see cref="LookupPseudonyms(IdentifierType, ReadOnlySpan{char})"/> for a value whose active pseudonym the
    /// caller already made (<paramref name="first"/>): a consent request does not normalize and MAC it twice.
    /// </summary>
    internal List<string> LookupPseudonyms(IdentifierType type, ReadOnlySpan<char> raw, string first)
    {
        var found = new List<string>(lookups.Length) { first };
        foreach (var generation in lookups.AsSpan(1))
        {
            // Versions differ only for phones: another type under a key already tried would give the same pseudonym.
            if (type != IdentifierType.Phone && found.Exists(f => f.AsSpan().StartsWith(generation.KeyId) && f.Length > generation.KeyId.Length
                    && f[generation.KeyId.Length] == ':'))
            {
                continue;
            }

            if (TryPseudonymize(generation, type, raw, socialPlatform: null, out var p) && !found.Contains(p))
            {
                found.Add(p);
            }
        }

        return found;
    }

    [SkipLocalsInit]
    private static bool TryPseudonymize(
        KeyGeneration generation, IdentifierType type, ReadOnlySpan<char> raw, string? socialPlatform, [NotNullWhen(true)] out string? pseudonym)
    {
        pseudonym = null;
        var length = IdentifierNormalizer.MaxNormalizedLength(type, raw.Length + (socialPlatform?.Length ?? 0));
        char[]? rented = null;
        var normalized = length <= StackChars ? stackalloc char[length] : (rented = ArrayPool<char>.Shared.Rent(length));
        try
        {
            var valid = socialPlatform is null
                ? IdentifierNormalizer.TryNormalize(type, raw, generation.Rules, normalized, out var written)
                : IdentifierNormalizer.TryNormalizeSocial(socialPlatform, raw, normalized, out written);
            if (valid)
            {
                pseudonym = generation.Pseudonymize(type, normalized[..written]);
            }

            return pseudonym is not null;
        }
        finally
        {
            if (rented is not null)
            {
                // It held the normalized identifier: the shared pool hands it to any code in the process next.
                rented.AsSpan(0, length).Clear();
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }
}
