using Streams.Contracts.Topics;
using Streams.Profiles.Features;

namespace Streams.UnitTests.Documentation;

/// <summary>The README is what operators and campaign teams read: it must name what the code has.</summary>
public sealed class ReadmeTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));

    [Fact]
    public void Readme_DocumentsEveryProfileFeatureWithItsUnit()
    {
        foreach (var feature in ProfileAggregate.Catalog)
        {
            Assert.Contains($"| `{feature.Name}` | {feature.Unit} |", Readme, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Readme_ListsEveryContractTopic()
    {
        foreach (var topic in new TopicCatalog(new TopicsOptions()).All.Where(t => t.Role is TopicRole.Input or TopicRole.Output))
        {
            Assert.Contains($"`{topic.Name}`", Readme, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Readme_DocumentsEveryConsoleSetting()
    {
        foreach (var setting in typeof(Streams.Dashboard.DashboardOptions).GetProperties())
        {
            Assert.Contains($"| `{Streams.Dashboard.DashboardOptions.Section}:{setting.Name}` |", Readme, StringComparison.Ordinal);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Streams.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Streams.sln not found above the test binaries.");
    }
}
