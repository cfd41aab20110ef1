using System.Buffers.Binary;
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
/// here, see <c>benchmarks/README.md</c>). Here the SHA-256 is still OpenSSL's: its <c>SHA256_Init</c> and
/// <c>SHA256_Update</c> key the two states once, and each MAC runs its blocks through <c>SHA256_Transform</c>, the
/// compression function alone (with the CPU's SHA instructions), on a copy of a keyed state. Only RFC 2104's
/// composition and FIPS 180-4's padding are ours: <c>SHA256_Final</c>'s bookkeeping, copies and clearing of its buffer
/// were as much as the blocks themselves for an identifier.
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

    /// <summary>The chaining value at the start of <c>SHA256_CTX</c>: eight 32-bit words in the CPU's byte order.</summary>
    private const int ChainingBytes = 32;

    /// <summary>A padded message ends with its length in bits, a 64-bit big-endian number.</summary>
    private const int LengthBytes = 8;

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
        var tail = stackalloc byte[2 * BlockBytes];
        fixed (byte* state = states)
        fixed (byte* input = message)
        {
            // The keyed states are only ever read: each half of the MAC runs on a copy of one's chaining value.
            Buffer.MemoryCopy(state, work, ChainingBytes, ChainingBytes);
            native.Blocks(work, input, message.Length, tail);

            // The outer hash's one block: the inner hash, then its padding (the key's block and 32 bytes hashed).
            WriteChainingValue(work, new Span<byte>(tail, ChainingBytes));
            Buffer.MemoryCopy(state + StateBytes, work, ChainingBytes, ChainingBytes);
            Pad(new Span<byte>(tail, BlockBytes), ChainingBytes, BlockBytes + ChainingBytes);
            native.Transform(work, tail);
            WriteChainingValue(work, mac);
        }
    }

    /// <summary>
    /// FIPS 180-4 §5.1.1 for a message that follows the key's block: after the <paramref name="used"/> bytes of the
    /// last block(s), 0x80, zeros, and the length of all that was hashed in bits, at the end of <paramref name="blocks"/>.
    /// </summary>
    private static void Pad(Span<byte> blocks, int used, long hashedBytes)
    {
        blocks[used] = 0x80;
        blocks[(used + 1)..^LengthBytes].Clear();
        BinaryPrimitives.WriteInt64BigEndian(blocks[^LengthBytes..], hashedBytes * 8);
    }

    /// <summary>The hash: the chaining value's words, big-endian.</summary>
    private static void WriteChainingValue(byte* state, Span<byte> destination)
    {
        var words = new ReadOnlySpan<uint>(state, ChainingBytes / sizeof(uint));
        for (var i = 0; i < words.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination[(i * sizeof(uint))..], words[i]);
        }
    }

    /// <summary>libcrypto's low-level SHA-256 entry points, or null where they cannot be used.</summary>
    private sealed class Sha256Functions
    {
        // The same major versions .NET's own OpenSSL shim binds on Linux, newest first.
        private static readonly string[] Candidates = ["libcrypto.so.3", "libcrypto.so.1.1"];

        private readonly delegate* unmanaged[SuppressGCTransition]<byte*, int> init;
        private readonly delegate* unmanaged[SuppressGCTransition]<byte*, byte*, nuint, int> update;

        /// <summary>
        /// One 64-byte block into the chaining value, a few dozen nanoseconds, so without the GC transition whatever the
        /// message's length: the JIT polls for a collection after each call that suppresses it, so the blocks of even a
        /// record-sized message (a raw digest) cannot hold one up.
        /// </summary>
        private readonly delegate* unmanaged[SuppressGCTransition]<byte*, byte*, void> transform;

        private Sha256Functions(nint library)
        {
            init = (delegate* unmanaged[SuppressGCTransition]<byte*, int>)NativeLibrary.GetExport(library, "SHA256_Init");
            update = (delegate* unmanaged[SuppressGCTransition]<byte*, byte*, nuint, int>)NativeLibrary.GetExport(library, "SHA256_Update");
            transform = (delegate* unmanaged[SuppressGCTransition]<byte*, byte*, void>)NativeLibrary.GetExport(library, "SHA256_Transform");
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

        public void Transform(byte* state, byte* block) => transform(state, block);

        /// <summary>
        /// <paramref name="length"/> bytes of <paramref name="input"/> and their padding (the key's block hashed before
        /// them) into <paramref name="state"/>: whole blocks from the input, the rest from <paramref name="tail"/> (two
        /// blocks of room).
        /// </summary>
        public void Blocks(byte* state, byte* input, int length, byte* tail)
        {
            var whole = length / BlockBytes;
            for (var i = 0; i < whole; i++)
            {
                transform(state, input + ((nint)i * BlockBytes));
            }

            var rest = length - (whole * BlockBytes);
            var tailBlocks = rest + 1 + LengthBytes <= BlockBytes ? 1 : 2;
            Buffer.MemoryCopy(input + ((nint)whole * BlockBytes), tail, rest, rest);
            Pad(new Span<byte>(tail, tailBlocks * BlockBytes), rest, BlockBytes + (long)length);
            for (var i = 0; i < tailBlocks; i++)
            {
                transform(state, tail + (i * BlockBytes));
            }
        }

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
