using System.Security.Cryptography;
using Streams.Ingest.Pseudonymization;

namespace Streams.UnitTests.Ingest;

public class KeyedHmacSha256Tests
{
    public static TheoryData<int> KeyLengths => [0, 1, 20, 32, 63, 64, 65, 131, 300];

    [Fact]
    public void UsesLibcrypto_OnLinux_IsTrue()
    {
        // Otherwise every other test here compares .NET's HMAC with itself.
        Assert.Equal(OperatingSystem.IsLinux(), KeyedHmacSha256.UsesLibcrypto);
    }

    [Theory]
    [MemberData(nameof(KeyLengths))]
    public void Compute_EveryMessageLengthAcrossTheBlocks_EqualsDotNetsHmac(int keyLength)
    {
        var random = new Random(keyLength);
        var key = new byte[keyLength];
        random.NextBytes(key);
        var message = new byte[300];
        random.NextBytes(message);
        var mac = KeyedHmacSha256.Create(key);

        for (var length = 0; length <= message.Length; length++)
        {
            AssertSameMac(mac, key, message.AsSpan(0, length));
        }
    }

    [Theory]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(1 << 20)]
    public void Compute_MessagesOfManyBlocksUpToARecordsSize_EqualDotNetsHmac(int length)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var message = RandomNumberGenerator.GetBytes(length);

        AssertSameMac(KeyedHmacSha256.Create(key), key, message);
    }

    [Fact]
    public void Compute_RfcTestCase2_GivesTheRfcsMac()
    {
        // RFC 4231 §4.3: a key shorter than the output.
        Span<byte> mac = stackalloc byte[32];
        KeyedHmacSha256.Create("Jefe"u8).Compute("what do ya want for nothing?"u8, mac);

        Assert.Equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", Convert.ToHexStringLower(mac));
    }

    [Fact]
    public void Compute_ManyThreadsOnOneKey_EachGetsTheMacOfItsOwnMessage()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var mac = KeyedHmacSha256.Create(key);
        var messages = Enumerable.Range(0, 2000).Select(i => System.Text.Encoding.UTF8.GetBytes($"email:person{i}@example.com")).ToArray();
        var results = new byte[messages.Length][];

        Parallel.For(0, messages.Length, i =>
        {
            results[i] = new byte[32];
            mac.Compute(messages[i], results[i]);
        });

        Assert.All(Enumerable.Range(0, messages.Length), i => Assert.Equal(HMACSHA256.HashData(key, messages[i]), results[i]));
    }

    [Fact]
    public void Compute_ManagedFallback_GivesTheSameMac()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var message = "phone:+442079460000"u8;
        Span<byte> native = stackalloc byte[32];
        Span<byte> managed = stackalloc byte[32];

        KeyedHmacSha256.Create(key).Compute(message, native);
        KeyedHmacSha256.CreateManaged(key).Compute(message, managed);

        Assert.True(native.SequenceEqual(managed));
    }

    [Fact]
    public void Compute_OutputShorterThanTheMac_Throws()
    {
        var mac = KeyedHmacSha256.Create(new byte[32]);

        Assert.Throws<ArgumentException>(() => mac.Compute("x"u8, new byte[31]));
    }

    private static void AssertSameMac(KeyedHmacSha256 mac, byte[] key, ReadOnlySpan<byte> message)
    {
        Span<byte> ours = stackalloc byte[32];
        mac.Compute(message, ours);
        Assert.Equal(Convert.ToHexStringLower(HMACSHA256.HashData(key, message)), Convert.ToHexStringLower(ours));
    }
}
