using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Streams.Contracts.Identifiers;

namespace Streams.Ingest.Pseudonymization;

/// <summary>One key with one normalization version: what a pseudonym is made under (CONTRACT §3).</summary>
/// <remarks>
/// Each thread keeps a keyed HMAC per key and resets it after every MAC: the one-shot <see cref="HMACSHA256.HashData(byte[], byte[])"/>
/// makes OpenSSL fetch the algorithm, allocate a context and hash the padded key on every call, which measured more
/// than twice the cost of a reused context (see <c>benchmarks/README.md</c>). Found by the key array, so a generation
/// with another key (a rotation, a test) never uses a context keyed for this one, and a rotation window's two keys
/// do not evict each other.
/// </remarks>
internal sealed class KeyGeneration
{
    /// <summary>16 of the MAC's 32 bytes: collisions stay negligible at any realistic number of people.</summary>
    private const int PseudonymBytes = 16;

    /// <summary>Above this the HMAC input is rented rather than put on the stack (sized to the value: the stack is zeroed).</summary>
    private const int StackBytes = 512;

    /// <summary>Contexts a thread keeps: the active and previous keys, with room for tests that make others.</summary>
    private const int ContextsPerThread = 4;

    /// <summary>The HMACs keyed for the keys this thread used last, most recent first.</summary>
    [ThreadStatic]
    private static List<KeyedHmac>? threadHmacs;

    /// <summary>
    /// Separates the digest key from the pseudonym key: a raw value that happened to read <c>email:x@y</c> must not
    /// get a digest equal to the full MAC behind that address's pseudonym.
    /// </summary>
    private static ReadOnlySpan<byte> DigestKeyLabel => "streams raw-digest v1"u8;

    private readonly byte[] digestKey;

    public KeyGeneration(string keyId, byte[] key, NormalizationRules rules)
    {
        KeyId = keyId;
        Key = key;
        Rules = rules;
        digestKey = HMACSHA256.HashData(key, DigestKeyLabel);
    }

    public string KeyId { get; }

    public byte[] Key { get; }

    public NormalizationRules Rules { get; }

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
                // It held the normalized identifier: the shared pool hands it to any code in the process next.
                rented.AsSpan(0, length).Clear();
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public string Digest(ReadOnlySpan<byte> raw)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(digestKey, raw, mac);
        return Convert.ToHexStringLower(mac);
    }

    private void ComputeMac(ReadOnlySpan<byte> message, Span<byte> mac)
    {
        var cache = threadHmacs ??= new List<KeyedHmac>(ContextsPerThread);
        var cached = Find(cache, Key);
        if (cached is null)
        {
            if (cache.Count == ContextsPerThread)
            {
                cache[^1].Hmac.Dispose();
                cache.RemoveAt(cache.Count - 1);
            }

            cached = new KeyedHmac(Key, IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Key));
            cache.Insert(0, cached);
        }

        try
        {
            cached.Hmac.AppendData(message);
            cached.Hmac.GetHashAndReset(mac);
        }
        catch
        {
            // A failure between AppendData and the reset would leave data in the MAC that the next pseudonym would include.
            cache.Remove(cached);
            cached.Hmac.Dispose();
            throw;
        }
    }

    private static KeyedHmac? Find(List<KeyedHmac> cache, byte[] key)
    {
        foreach (var entry in cache)
        {
            if (ReferenceEquals(entry.Key, key))
            {
                return entry;
            }
        }

        return null;
    }

    private sealed record KeyedHmac(byte[] Key, IncrementalHash Hmac);
}
