using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Infrastructure.Hosting;

namespace Streams.Ingest.Pseudonymization;

/// <summary>
/// CONTRACT §7: without configured keys, the embedded mode gets a development key, generated once and kept in the
/// state dir so pseudonyms stay stable across runs; with a real broker the host refuses to start. The key file is
/// created 0600 in a 0700 state dir, and refused at start when group or others may read it.
/// </summary>
public sealed class DevelopmentKey(
    IOptions<KafkaOptions> kafka, IOptions<StreamsOptions> streams, DevelopmentKeyPolicy policy, ILogger<DevelopmentKey> logger)
    : IPostConfigureOptions<PseudonymizationOptions>
{
    public const string KeyId = "dev";
    public const string FileName = "pseudonymization-dev-key";

    /// <summary>The development key file of a state dir.</summary>
    public static string PathIn(string stateDirectory) => Path.Combine(Path.GetFullPath(stateDirectory), FileName);

    public void PostConfigure(string? name, PseudonymizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Keys.Count > 0 || !string.IsNullOrEmpty(options.ActiveKeyId))
        {
            return;
        }

        if (!kafka.Value.UseEmbedded)
        {
            throw new StreamsConfigurationException(
                "Pseudonymization:Keys is not set; a key is required with a real Kafka broker " +
                "(set Pseudonymization:ActiveKeyId and Pseudonymization:Keys:<id> to base64 of 32 random bytes).");
        }

        var path = PathIn(streams.Value.StateDir);
        if (policy.CreateIfMissing)
        {
            OwnerOnly.EnsureDirectory(streams.Value.StateDir);
            // Never replaces a key another process wrote first: that one's pseudonyms are already out there.
            OwnerOnly.WriteFile(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), overwrite: false);
        }
        else if (!File.Exists(path))
        {
            throw new StreamsConfigurationException(
                $"no pseudonymization key: {path} does not exist and a key made up now would match nobody; point " +
                "--Streams:StateDir at the state dir of the host that made the pseudonyms, or pass its Pseudonymization:ActiveKeyId " +
                "and Pseudonymization:Keys:<id>");
        }
        else
        {
            OwnerOnly.RequireDirectory(Path.GetDirectoryName(path)!);
        }

        OwnerOnly.RequireFile(path, "the development key");
        options.Keys[KeyId] = File.ReadAllText(path).Trim();
        options.ActiveKeyId = KeyId;
        if (policy.CreateIfMissing && Interlocked.Exchange(ref announced, 1) == 0)
        {
            logger.LogWarning("No pseudonymization key configured: using the development key in {Path} (embedded mode only)", path);
        }
    }

    private int announced;
}

/// <summary>Whether a missing development key is made (the host) or is an error (<c>whois</c>, which only reads).</summary>
public sealed record DevelopmentKeyPolicy(bool CreateIfMissing)
{
    public static readonly DevelopmentKeyPolicy Create = new(true);
    public static readonly DevelopmentKeyPolicy ReadOnly = new(false);
}
