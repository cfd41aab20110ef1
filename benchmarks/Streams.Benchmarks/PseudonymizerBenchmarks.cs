using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Streams.Contracts.Identifiers;
using Streams.Ingest.Pseudonymization;

namespace Streams.Benchmarks;

/// <summary>
/// One identifier at a time: the pseudonymizer alone (normalize + HMAC + hex), and the bare HMAC-SHA256 of the same
/// message both ways .NET offers and the way the pseudonymizer does it (<see cref="KeyedHmacSha256"/>).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class PseudonymizerBenchmarks
{
    private static readonly byte[] Key = Convert.FromBase64String("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    private static readonly byte[] Message = Encoding.UTF8.GetBytes("email:jane.doe@example.com");

    private readonly byte[] mac = new byte[HMACSHA256.HashSizeInBytes];
    private Pseudonymizer pseudonymizer = null!;
    private IncrementalHash hmac = null!;
    private KeyedHmacSha256 keyed = null!;

    [GlobalSetup]
    public void Setup()
    {
        pseudonymizer = SampleRecords.Pseudonymizer();
        hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Key);
        keyed = KeyedHmacSha256.Create(Key);
    }

    [GlobalCleanup]
    public void Cleanup() => hmac.Dispose();

    [Benchmark(Baseline = true, Description = "HMACSHA256.HashData (one-shot)")]
    public int HmacOneShot() => HMACSHA256.HashData(Key, Message, mac);

    [Benchmark(Description = "IncrementalHash HMAC (reused)")]
    public int HmacReused()
    {
        hmac.AppendData(Message);
        return hmac.GetHashAndReset(mac);
    }

    [Benchmark(Description = "KeyedHmacSha256 (keyed states, libcrypto SHA-256)")]
    public int HmacKeyedStates()
    {
        keyed.Compute(Message, mac);
        return mac[0];
    }

    [Benchmark(Description = "Pseudonymize(email, normalized)")]
    public string PseudonymizeNormalized() => pseudonymizer.Pseudonymize(IdentifierType.Email, "jane.doe@example.com");

    [Benchmark(Description = "TryPseudonymize(email, raw)")]
    public string? Email() => pseudonymizer.TryPseudonymize(IdentifierType.Email, "  Jane.Doe@Example.COM ", out var p) ? p : null;

    [Benchmark(Description = "TryPseudonymize(phone, raw)")]
    public string? Phone() => pseudonymizer.TryPseudonymize(IdentifierType.Phone, "0044 20 7946 0958", out var p) ? p : null;

    [Benchmark(Description = "TryPseudonymizeSocial(raw)")]
    public string? Social() => pseudonymizer.TryPseudonymizeSocial("twitter", "@JaneDoe", out var p) ? p : null;
}
