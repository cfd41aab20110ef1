using Streams.Infrastructure.Hosting;

namespace Streams.UnitTests.Infrastructure;

/// <summary>The state dir and its secrets: only their owner may use them, from the moment they exist.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class OwnerOnlyTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("streams-owner-only-").FullName;

    [Fact]
    public void EnsureDirectory_Missing_IsCreated0700()
    {
        var path = Path.Combine(root, "state dir 'x'");
        Assert.Equal(path, OwnerOnly.EnsureDirectory(path));
        Assert.Equal(OwnerOnly.DirectoryPermissions, File.GetUnixFileMode(path));
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute)]
    [InlineData(UnixFileMode.OtherExecute)]
    [InlineData(UnixFileMode.GroupWrite)]
    public void EnsureDirectory_ExistingAndOpenToOthers_IsRefusedWithTheFix_AndLeftAsItIs(UnixFileMode extra)
    {
        var path = Path.Combine(root, "it's open");
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, OwnerOnly.DirectoryPermissions | extra);

        var refused = Assert.Throws<StreamsConfigurationException>(() => OwnerOnly.EnsureDirectory(path));

        Assert.Contains(path, refused.Message, StringComparison.Ordinal);
        Assert.Contains($"chmod 700 {OwnerOnly.ShellQuoted(path)}", refused.Message, StringComparison.Ordinal);
        Assert.Equal(OwnerOnly.DirectoryPermissions | extra, File.GetUnixFileMode(path));
    }

    [Fact]
    public void WriteFile_IsNeverWiderThan0600_NotEvenWhileBeingWritten()
    {
        var path = Path.Combine(root, "secret");
        var seen = new List<UnixFileMode>();
        OwnerOnly.WriteFile(path, stream =>
        {
            stream.Write("half"u8);
            seen.AddRange(Directory.GetFiles(root).Select(File.GetUnixFileMode));
        });

        Assert.Equal([OwnerOnly.FilePermissions], seen);
        Assert.Equal(OwnerOnly.FilePermissions, File.GetUnixFileMode(path));
        Assert.Equal([path], Directory.GetFiles(root));
    }

    [Fact]
    public void WriteFile_ReplacesByRename_SoAReaderNeverSeesHalfAFile()
    {
        var path = Path.Combine(root, "postgres");
        OwnerOnly.WriteFile(path, "old");
        using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

        OwnerOnly.WriteFile(path, "new");

        // The reader still has the whole old file: the new one is another file put in its place.
        Assert.Equal("old", new StreamReader(reader).ReadToEnd());
        Assert.Equal("new", File.ReadAllText(path));
    }

    [Fact]
    public void WriteFile_WithoutOverwrite_KeepsTheExistingFile()
    {
        var path = Path.Combine(root, "key");
        Assert.True(OwnerOnly.WriteFile(path, "first", overwrite: false));
        Assert.False(OwnerOnly.WriteFile(path, "second", overwrite: false));
        Assert.Equal("first", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(root));
    }

    [Fact]
    public void RequireFile_ReadableByOthers_IsRefusedNamingTheFileAndTheFix()
    {
        var path = Path.Combine(root, "key");
        File.WriteAllText(path, "secret");
        File.SetUnixFileMode(path, OwnerOnly.FilePermissions | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var refused = Assert.Throws<StreamsConfigurationException>(() => OwnerOnly.RequireFile(path, "the development key"));

        Assert.StartsWith($"the development key {path} is readable by other users (mode 0644)", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"chmod 600 {OwnerOnly.ShellQuoted(path)}", refused.Message, StringComparison.Ordinal);
        File.SetUnixFileMode(path, OwnerOnly.FilePermissions);
        OwnerOnly.RequireFile(path, "the development key");
    }

    [Theory]
    [InlineData("/tmp/plain", "'/tmp/plain'")]
    [InlineData("/tmp/it's", @"'/tmp/it'\''s'")]
    [InlineData("/tmp/$(rm -rf x) \"q\"", "'/tmp/$(rm -rf x) \"q\"'")]
    public void ShellQuoted_IsReadBackAsThePathBySh(string path, string quoted) => Assert.Equal(quoted, OwnerOnly.ShellQuoted(path));

    public void Dispose() => Directory.Delete(root, recursive: true);
}
