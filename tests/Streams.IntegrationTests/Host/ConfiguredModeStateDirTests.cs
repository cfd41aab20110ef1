using Streams.Infrastructure.Hosting;
using Streams.IntegrationTests.Fixtures;

namespace Streams.IntegrationTests.Host;

/// <summary>With a real broker, database and keys the state dir holds no secret: the host uses the folder it is given.</summary>
[Collection(IntegrationCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ConfiguredModeStateDirTests(KafkaFixture kafka, PostgresFixture postgres)
{
    [Fact]
    public async Task AStateDirOpenToTheGroup_IsUsedAsItIs_WhenNothingEmbeddedRuns()
    {
        // As a Kubernetes volume with an fsGroup is: group-writable, setgid.
        var stateDirectory = Directory.CreateTempSubdirectory("streams-configured-").FullName;
        const UnixFileMode shared = OwnerOnly.DirectoryPermissions | UnixFileMode.GroupRead | UnixFileMode.GroupWrite |
                                    UnixFileMode.GroupExecute | UnixFileMode.SetGroup;
        File.SetUnixFileMode(stateDirectory, shared);
        try
        {
            var topics = await TestTopics.CreateAsync(kafka, partitions: 1);
            await using (var host = await InProcessHost.StartAsync(kafka, postgres, topics, $"--Streams:StateDir={stateDirectory}"))
            {
                Assert.True(host.Get<StreamsEnvironment>().IsReady);
            }

            Assert.Equal(shared, File.GetUnixFileMode(stateDirectory));
            Assert.Equal("Host=", (await File.ReadAllTextAsync(Path.Combine(stateDirectory, StreamsEnvironment.PostgresFile)))[..5]);
        }
        finally
        {
            Directory.Delete(stateDirectory, recursive: true);
        }
    }
}
