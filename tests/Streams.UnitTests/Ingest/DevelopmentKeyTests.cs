using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Streams.Infrastructure.Hosting;
using Streams.Ingest.Pseudonymization;

namespace Streams.UnitTests.Ingest;

/// <summary>CONTRACT §7: the embedded mode's development key, made once, kept to its owner, never made by a reader.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DevelopmentKeyTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("streams-dev-key-").FullName;

    private string StateDirectory => Path.Combine(root, ".streams");

    private string KeyFile => DevelopmentKey.PathIn(StateDirectory);

    [Fact]
    public void EmbeddedWithoutKeys_MakesAKey0600_InAStateDir0700_AndUsesIt()
    {
        var options = Configure(DevelopmentKeyPolicy.Create);

        Assert.Equal(DevelopmentKey.KeyId, options.ActiveKeyId);
        Assert.Equal(File.ReadAllText(KeyFile), options.Keys[DevelopmentKey.KeyId]);
        Assert.Equal(32, Convert.FromBase64String(options.Keys[DevelopmentKey.KeyId]).Length);
        Assert.Equal(OwnerOnly.FilePermissions, File.GetUnixFileMode(KeyFile));
        Assert.Equal(OwnerOnly.DirectoryPermissions, File.GetUnixFileMode(StateDirectory));
    }

    [Fact]
    public void AnExistingKey_IsKept()
    {
        var first = Configure(DevelopmentKeyPolicy.Create).Keys[DevelopmentKey.KeyId];
        Assert.Equal(first, Configure(DevelopmentKeyPolicy.Create).Keys[DevelopmentKey.KeyId]);
        Assert.Equal(first, Configure(DevelopmentKeyPolicy.ReadOnly).Keys[DevelopmentKey.KeyId]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AKeyFileOthersCanRead_IsRefusedAtStart_NamingTheFileAndTheFix(bool mayCreate)
    {
        Configure(DevelopmentKeyPolicy.Create);
        File.SetUnixFileMode(KeyFile, OwnerOnly.FilePermissions | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var refused = Assert.Throws<StreamsConfigurationException>(() => Configure(new DevelopmentKeyPolicy(mayCreate)));

        Assert.Contains(KeyFile, refused.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 600", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AReader_WithoutAKey_IsRefused_AndMakesNeitherKeyNorStateDir()
    {
        var refused = Assert.Throws<StreamsConfigurationException>(() => Configure(DevelopmentKeyPolicy.ReadOnly));

        Assert.Contains(KeyFile, refused.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(StateDirectory));
    }

    [Fact]
    public void ConfiguredKeys_AreUsed_AndNoFileIsMade()
    {
        var options = new PseudonymizationOptions { ActiveKeyId = "k1" };
        options.Keys["k1"] = Convert.ToBase64String(new byte[32]);
        Key(DevelopmentKeyPolicy.Create).PostConfigure(null, options);
        Assert.Equal("k1", options.ActiveKeyId);
        Assert.False(Directory.Exists(StateDirectory));
    }

    private PseudonymizationOptions Configure(DevelopmentKeyPolicy policy)
    {
        var options = new PseudonymizationOptions();
        Key(policy).PostConfigure(null, options);
        return options;
    }

    private DevelopmentKey Key(DevelopmentKeyPolicy policy) => new(
        Options.Create(new KafkaOptions()), Options.Create(new StreamsOptions { StateDir = StateDirectory }), policy,
        NullLogger<DevelopmentKey>.Instance);

    public void Dispose() => Directory.Delete(root, recursive: true);
}
