using Streams.Infrastructure.Hosting;

namespace Streams.UnitTests.Infrastructure;

public sealed class WorkerSelectionTests
{
    [Theory]
    [InlineData("all", "ingest,profiles,segmentation,activation")]
    [InlineData("ALL", "ingest,profiles,segmentation,activation")]
    [InlineData("ingest", "ingest")]
    [InlineData(" Segmentation , profiles ", "profiles,segmentation")]
    [InlineData("profiles,profiles,", "profiles")]
    [InlineData("ingest,all", "ingest,profiles,segmentation,activation")]
    [InlineData("quality", "quality")]
    [InlineData("all,quality", "ingest,profiles,segmentation,activation,quality")]
    [InlineData("quality,ingest", "ingest,quality")]
    public void Parse_KnownNames_SelectsThemInHostOrder(string list, string expected) =>
        Assert.Equal(expected, string.Join(',', WorkerSelection.Parse(list)));

    [Theory]
    [InlineData("ingets", "'ingets'")]
    [InlineData("ingest,bogus,nope", "'bogus', 'nope'")]
    [InlineData("profiles;segmentation", "'profiles;segmentation'")]
    public void Parse_UnknownName_IsAConfigurationErrorNamingItAndTheValidOnes(string list, string named)
    {
        var error = Assert.Throws<StreamsConfigurationException>(() => WorkerSelection.Parse(list));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.Contains("Streams:Workers", error.Message, StringComparison.Ordinal);
        Assert.All(WorkerSelection.Names, name => Assert.Contains(name, error.Message, StringComparison.Ordinal));
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" , ,")]
    public void Parse_NoName_IsAConfigurationError(string? list) =>
        Assert.Contains("names no worker", Assert.Throws<StreamsConfigurationException>(() => WorkerSelection.Parse(list)).Message,
            StringComparison.Ordinal);

    [Theory]
    [InlineData(new[] { "--only", "ingest" }, new[] { "--Streams:Workers=ingest" })]
    [InlineData(new[] { "--only=profiles,segmentation" }, new[] { "--Streams:Workers=profiles,segmentation" })]
    [InlineData(new[] { "--ONLY", "Ingest" }, new[] { "--Streams:Workers=Ingest" })]
    [InlineData(new[] { "--Kafka:BootstrapServers=b:9092", "--only", "profiles", "--Profiles:BatchSize=10" },
        new[] { "--Kafka:BootstrapServers=b:9092", "--Streams:Workers=profiles", "--Profiles:BatchSize=10" })]
    [InlineData(new[] { "--Streams:Workers=ingest" }, new[] { "--Streams:Workers=ingest" })]
    [InlineData(new[] { "--onlyx=1", "only" }, new[] { "--onlyx=1", "only" })]
    public void ExpandOnly_BecomesStreamsWorkers_AndLeavesTheRestInOrder(string[] args, string[] expected) =>
        Assert.Equal(expected, WorkerSelection.ExpandOnly(args));

    [Theory]
    [InlineData("--only")]
    [InlineData("--only=")]
    [InlineData("--only|--Kafka:BootstrapServers=b:9092")]
    [InlineData("--only| ")]
    public void ExpandOnly_WithoutAList_IsAConfigurationError(string args) =>
        Assert.Contains("--only needs", Assert.Throws<StreamsConfigurationException>(() => WorkerSelection.ExpandOnly(args.Split('|'))).Message,
            StringComparison.Ordinal);

    [Fact]
    public void ExpandOnly_UnknownName_IsAConfigurationErrorNamingTheSwitch()
    {
        var error = Assert.Throws<StreamsConfigurationException>(() => WorkerSelection.ExpandOnly(["--only", "ingest,simulatr"]));
        Assert.StartsWith("--only names unknown worker 'simulatr'; valid: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StreamsOptionsRuns_FollowsTheSelection_AndRejectsUnknownNames()
    {
        var options = new StreamsOptions { Workers = "profiles" };
        Assert.True(options.Runs(WorkerSelection.Profiles));
        Assert.False(options.Runs(WorkerSelection.Ingest));
        Assert.Throws<StreamsConfigurationException>(() => new StreamsOptions { Workers = "profile" }.Runs(WorkerSelection.Profiles));
    }
}
