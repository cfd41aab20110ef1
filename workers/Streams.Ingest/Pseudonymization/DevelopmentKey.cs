using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streams.Infrastructure.Hosting;

namespace Streams.Ingest.Pseudonymization;

/// <summary>
/// CONTRACT §7: without configured keys, the embedded mode gets a development key, generated once and kept in the
/// state dir so pseudonyms stay stable across runs; with a real broker the host refuses to start.
/// </summary>
public sealed class DevelopmentKey(IOptions<KafkaOptions> kafka, IOptions<StreamsOptions> streams, ILogger<DevelopmentKey> logger)
    : IPostConfigureOptions<PseudonymizationOptions>
{
    public const string KeyId = "dev";
    public const string FileName = "pseudonymization-dev-key";

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

        var directory = Path.GetFullPath(streams.Value.StateDir);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            File.WriteAllText(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        options.Keys[KeyId] = File.ReadAllText(path).Trim();
        options.ActiveKeyId = KeyId;
        if (Interlocked.Exchange(ref announced, 1) == 0)
        {
            logger.LogWarning("No pseudonymization key configured: using the development key in {Path} (embedded mode only)", path);
        }
    }

    private int announced;
}
