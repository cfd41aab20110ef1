using Streams.Contracts.Topics;
using Streams.Infrastructure.Health;
using Streams.Infrastructure.Hosting;
using Streams.Profiles.Features;
using Streams.Simulator;

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
    public void Readme_DocumentsEveryConsoleSetting() =>
        AssertDocumentsEveryKey(typeof(Streams.Dashboard.DashboardOptions), Streams.Dashboard.DashboardOptions.Section);

    [Fact]
    public void Readme_DocumentsEveryHealthKey_TheOnlySwitch_AndEveryWorkerName()
    {
        AssertDocumentsEveryKey(typeof(HealthOptions), HealthOptions.Section);
        Assert.Contains($"-- {WorkerSelection.OnlySwitch} ", Readme, StringComparison.Ordinal);
        Assert.Contains(HealthResponse.LivePath, Readme, StringComparison.Ordinal);
        Assert.Contains(HealthResponse.ReadyPath, Readme, StringComparison.Ordinal);
        Assert.Contains($"GET {HealthResponse.MetricsPath}", Readme, StringComparison.Ordinal);
        AssertDocumentsEveryKey(typeof(Streams.Infrastructure.Telemetry.TelemetryOptions), Streams.Infrastructure.Telemetry.TelemetryOptions.Section);
        Assert.All(WorkerSelection.Names, name => Assert.Contains($"`{name}`", Readme, StringComparison.Ordinal));
    }

    /// <summary>Every settable property of <paramref name="options"/> has a row in a configuration table.</summary>
    private static void AssertDocumentsEveryKey(Type options, string section)
    {
        foreach (var property in options.GetProperties().Where(p => p.CanWrite))
        {
            Assert.Contains($"| `{section}:{property.Name}` |", Readme, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Readme_DocumentsEverySimulatorKey()
    {
        var keys = typeof(SimulatorOptions).GetProperties().Concat(typeof(SimulatorRunOptions).GetProperties())
            .Where(p => p.CanWrite && p.Name != nameof(SimulatorOptions.Now)).Select(p => p.Name);
        foreach (var key in keys)
        {
            Assert.True(Readme.Contains($"`Simulator:{key}`", StringComparison.Ordinal) || Readme.Contains($":{key}`", StringComparison.Ordinal),
                $"Simulator:{key} is not in the README");
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
