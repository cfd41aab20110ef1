namespace Streams.IntegrationTests.Fixtures;

/// <summary>
/// A new folder in the temporary area for a host's state dir (made 0700, as the host wants one), removed with what is
/// in it when disposed: a passing suite leaves nothing behind.
/// </summary>
public sealed class TemporaryFolder(string prefix) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Removed by the test itself.
        }
    }
}
