using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Streams.Contracts.Identifiers;

namespace Streams.Ingest.Pseudonymization;

/// <summary>One key with one normalization version: what a pseudonym is made under (CONTRACT §3).</summary>
/// <remarks>
/// Each generation keys its two HMACs once (<see cref="KeyedHmacSha256"/>), shared by every thread: a rotation
/// window's two keys, or a test's, never share or evict a keyed state.
/// </remarks>
internal sealed class KeyGeneration
{
    /// <summary>16 of the MAC's 32 bytes: collisions stay negligible at any realistic number of people.</summary>
    private const int PseudonymBytes = 16;

    /// <summary>Above this the HMAC input is rented rather than put on the stack (sized to the value).</summary>
    private const int StackBytes = 512;

    /// <summary>
    /// Separates the digest key from the pseudonym key: a raw value that happened to read <c>email:x@y</c> must not
    /// get a digest equal to the full MAC behind that address's pseudonym.
    /// </summary>
    private static ReadOnlySpan<byte> DigestKeyLabel => "streams raw-digest v1"u8;

    private readonly KeyedHmacSha256 pseudonymMac;

    private readonly KeyedHmacSha256 digestMac;

    public KeyGeneration(string keyId, byte[] key, NormalizationRules rules)
    {
        KeyId = keyId;
        Rules = rules;
        pseudonymMac = KeyedHmacSha256.Create(key);
        digestMac = KeyedHmacSha256.Create(HMACSHA256.HashData(key, DigestKeyLabel));
    }

    public string KeyId { get; }

    public NormalizationRules Rules { get; }

    [SkipLocalsInit]
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
            pseudonymMac.Compute(message[..used], mac);

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
                // It held the normalized identifier: the shared pool hands it to any code in the process next.
                rented.AsSpan(0, length).Clear();
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public string Digest(ReadOnlySpan<byte> raw)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        digestMac.Compute(raw, mac);
        return Convert.ToHexStringLower(mac);
    }
}
