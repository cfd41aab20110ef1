using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Streams.Ingest.Pseudonymization;

/// <summary>
/// HMAC-SHA256 (RFC 2104) under one key, with the key's two padded blocks hashed once, when the key is made, rather
/// than on every MAC. Thread-safe: the keyed states are read-only after construction and each MAC works on a copy.
/// </summary>
/// <remarks>
/// <para>
/// Why not <see cref="IncrementalHash"/>: every .NET HMAC on Linux goes through OpenSSL's <c>EVP_MAC</c> layer, where
/// one MAC of a 30-byte identifier is three P/Invokes, each clearing OpenSSL's thread error queue, and a copy and free
/// of digest contexts; that bookkeeping cost more than the two SHA-256 blocks a MAC needs (about 540 against 140 ns
/// here, see <c>benchmarks/README.md</c>). Here the SHA-256 is still OpenSSL's (its <c>SHA256_Init</c>,
/// <c>SHA256_Update</c> and <c>SHA256_Final</c> on a caller-owned context, using the CPU's SHA instructions), and
/// only RFC 2104's composition of the two hashes is ours.
/// </para>
/// <para>
/// Where that libcrypto cannot be loaded, or its results differ from .NET's <see cref="HMACSHA256"/> in a check at
/// start, every MAC is <see cref="HMACSHA256.HashData(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/>:
/// slower, the same bytes.
/// </para>
/// </remarks>
internal sealed unsafe class KeyedHmacSha256
{
    /// <summary>The hash's block: keys longer than this are hashed first, shorter ones padded with zeros (RFC 2104 §2).</summary>
    private const int BlockBytes = 64;

    /// <summary>OpenSSL's <c>SHA256_CTX</c> is 112 bytes in 1.1 and 3.x; a state slot leaves room past it.</summary>
    private const int StateBytes = 128;

    /// <summary>
    /// Messages up to this size are hashed without the GC transition (a few microseconds at most); a longer one, which
    /// only a hostile identifier near the record limit can be, takes the ordinary transition so it cannot hold up a
    /// collection.
    /// </summary>
    private const int NoTransitionBytes = 4096;

    private static readonly Sha256Functions? Native = Sha256Functions.Load();

    /// <summary>The inner then the outer keyed state, pinned so a MAC copies them without fixing anything.</summary>
    private readonly byte[]? states;

    /// <summary>Only when libcrypto is not used.</summary>
    private readonly byte[]? fallbackKey;

    private readonly Sha256Functions? native;

    private KeyedHmacSha256(ReadOnlySpan<byte> key, Sha256Functions? native)
    {
        this.native = native;
        if (native is null)
        {
            fallbackKey = key.ToArray();
            return;
        }

        states = GC.AllocateArray<byte>(2 * StateBytes, pinned: true);
        Span<byte> block = stackalloc byte[BlockBytes];
        try
        {
            if (key.Length > BlockBytes)
            {
                SHA256.HashData(key, block);
            }
            else
            {
                key.CopyTo(block);
            }

            fixed (byte* state = states)
            {
                native.KeyState(state, block, 0x36);
                native.KeyState(state + StateBytes, block, 0x5c);
            }
        }
        finally
        {
            block.Clear();
        }
    }

    /// <summary>Whether MACs go through libcrypto's SHA-256 directly (false: through <see cref="HMACSHA256"/>).</summary>
    public static bool UsesLibcrypto => Native is not null;

    public static KeyedHmacSha256 Create(ReadOnlySpan<byte> key) => new(key, Native);

    /// <summary>The same key through <see cref="HMACSHA256"/> whatever the platform: what the check compares with.</summary>
    internal static KeyedHmacSha256 CreateManaged(ReadOnlySpan<byte> key) => new(key, native: null);

    /// <summary>Writes the 32-byte MAC of <paramref name="message"/> to <paramref name="mac"/>.</summary>
    [SkipLocalsInit]
    public void Compute(ReadOnlySpan<byte> message, Span<byte> mac)
    {
        if (mac.Length < HMACSHA256.HashSizeInBytes)
        {
            throw new ArgumentException("The MAC needs 32 bytes.", nameof(mac));
        }

        if (native is null)
        {
            HMACSHA256.HashData(fallbackKey, message, mac);
            return;
        }

        var work = stackalloc byte[StateBytes];
        var innerHash = stackalloc byte[HMACSHA256.HashSizeInBytes];
        fixed (byte* state = states)
        fixed (byte* input = message)
        fixed (byte* output = mac)
        {
            // The keyed states are only ever read: each half of the MAC finishes a copy of one on the stack.
            Buffer.MemoryCopy(state, work, StateBytes, StateBytes);
            if (message.Length <= NoTransitionBytes)
            {
                native.Update(work, input, (nuint)message.Length);
            }
            else
            {
                native.UpdateLong(work, input, (nuint)message.Length);
            }

            native.Final(innerHash, work);
            Buffer.MemoryCopy(state + StateBytes, work, StateBytes, StateBytes);
            native.Update(work, innerHash, HMACSHA256.HashSizeInBytes);
            native.Final(output, work);
        }
    }

    /// <summary>libcrypto's low-level SHA-256 entry points, or null where they cannot be used.</summary>
    private sealed class Sha256Functions
    {
        // The same major versions .NET's own OpenSSL shim binds on Linux, newest first.
        private static readonly string[] Candidates = ["libcrypto.so.3", "libcrypto.so.1.1"];

        private readonly delegate* unmanaged[SuppressGCTransition]<byte*, int> init;
        private readonly delegate* unmanaged[SuppressGCTransition]<byte*, byte*, nuint, int> update;
        private readonly delegate* unmanaged<byte*, byte*, nuint, int> updateLong;
        private readonly delegate* unmanaged[SuppressGCTransition]<byte*, byte*, int> final;

        private Sha256Functions(nint library)
        {
            init = (delegate* unmanaged[SuppressGCTransition]<byte*, int>)NativeLibrary.GetExport(library, "SHA256_Init");
            var updateExport = NativeLibrary.GetExport(library, "SHA256_Update");
            update = (delegate* unmanaged[SuppressGCTransition]<byte*, byte*, nuint, int>)updateExport;
            updateLong = (delegate* unmanaged<byte*, byte*, nuint, int>)updateExport;
            final = (delegate* unmanaged[SuppressGCTransition]<byte*, byte*, int>)NativeLibrary.GetExport(library, "SHA256_Final");
        }

        public static Sha256Functions? Load()
        {
            if (!OperatingSystem.IsLinux())
            {
                return null;
            }

            foreach (var name in Candidates)
            {
                if (!NativeLibrary.TryLoad(name, out var library))
                {
                    continue;
                }

                try
                {
                    var functions = new Sha256Functions(library);
                    if (functions.AgreesWithDotNet())
                    {
                        return functions;
                    }
                }
                catch (Exception e) when (e is EntryPointNotFoundException or CryptographicException)
                {
                    // A build without the low-level digests (OPENSSL_NO_DEPRECATED), or one whose digest refuses: try the
                    // next, then fall back. Nothing may escape this type's initializer, or no pseudonym could be made.
                }
            }

            return null;
        }

        public void KeyState(byte* state, ReadOnlySpan<byte> block, byte pad)
        {
            Span<byte> padded = stackalloc byte[BlockBytes];
            for (var i = 0; i < BlockBytes; i++)
            {
                padded[i] = (byte)(block[i] ^ pad);
            }

            fixed (byte* input = padded)
            {
                Check(init(state));
                Check(update(state, input, BlockBytes));
            }

            padded.Clear();
        }

        public void Update(byte* state, byte* input, nuint length) => Check(update(state, input, length));

        public void UpdateLong(byte* state, byte* input, nuint length) => Check(updateLong(state, input, length));

        public void Final(byte* output, byte* state) => Check(final(output, state));

        private static void Check(int result)
        {
            if (result != 1)
            {
                throw new CryptographicException("libcrypto's SHA-256 failed.");
            }
        }

        /// <summary>
        /// Short, block-sized and over-the-block keys (RFC 4231's among them) and every message length across the first
        /// block boundaries, against .NET's HMAC: a libcrypto whose context does not match ours is never used.
        /// </summary>
        private bool AgreesWithDotNet()
        {
            byte[][] keys =
            [
                [.. Enumerable.Repeat((byte)0x0b, 20)],
                "Jefe"u8.ToArray(),
                [.. Enumerable.Range(0, BlockBytes).Select(i => (byte)i)],
                [.. Enumerable.Repeat((byte)0xaa, 131)],
            ];
            var message = new byte[200];
            for (var i = 0; i < message.Length; i++)
            {
                message[i] = (byte)(i * 7);
            }

            Span<byte> ours = stackalloc byte[HMACSHA256.HashSizeInBytes];
            Span<byte> theirs = stackalloc byte[HMACSHA256.HashSizeInBytes];
            foreach (var key in keys)
            {
                var mac = new KeyedHmacSha256(key, this);
                for (var length = 0; length <= message.Length; length++)
                {
                    mac.Compute(message.AsSpan(0, length), ours);
                    HMACSHA256.HashData(key, message.AsSpan(0, length), theirs);
                    if (!ours.SequenceEqual(theirs))
                    {
                        return false;
                    }
                }
            }

            return true;
        }
    }
}
