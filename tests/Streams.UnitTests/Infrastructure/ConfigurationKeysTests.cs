using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Streams.Infrastructure.Health;
using Streams.Infrastructure.Hosting;

namespace Streams.UnitTests.Infrastructure;

public sealed class ConfigurationKeysTests
{
    private static readonly Dictionary<string, Type[]> Sections = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Health"] = [typeof(HealthOptions)],
        ["Job"] = [typeof(JobOptions), typeof(JobRunOptions)],
    };

    [Theory]
    [InlineData("Health:Port", "8080")]
    [InlineData("health:port", "8080")]
    [InlineData("Health:StallAfter", "00:01:00")]
    [InlineData("Job:Name", "a")]
    [InlineData("Job:Runs", "3")]
    [InlineData("Job:Keys:anything", "a")]
    [InlineData("Job:Weights:0", "0.5")]
    [InlineData("Job:Limits:PerSecond", "10")]
    [InlineData("Job:Steps:1:Name", "b")]
    [InlineData("Logging:LogLevel:Default", "Debug")]
    [InlineData("Elsewhere:Anything", "x")]
    public void Unknown_KnownKeysAndOtherSections_AreFine(string key, string value) =>
        Assert.Empty(ConfigurationKeys.Unknown(Configuration((key, value)), Sections));

    [Theory]
    [InlineData("Health:Prot", "Health:Prot")]
    [InlineData("Health:Enabled", "Health:Enabled")]
    [InlineData("Health:Port:Extra", "Health:Port:Extra")]
    [InlineData("Job:Limits:PerMinute", "Job:Limits:PerMinute")]
    [InlineData("Job:Weights:first", "Job:Weights:first")]
    [InlineData("Job:Steps:0:Nme", "Job:Steps:0:Nme")]
    public void Unknown_NamesTheFullPathOfAKeyNoOptionsClassHas(string key, string expected)
    {
        var unknown = ConfigurationKeys.Unknown(Configuration((key, "1")), Sections);
        Assert.Equal(expected, Assert.Single(unknown).Key);
    }

    [Fact]
    public void ThrowIfUnknown_SaysWhichKeysTheSectionKnows()
    {
        var e = Assert.Throws<StreamsConfigurationException>(() =>
            ConfigurationKeys.ThrowIfUnknown(Configuration(("Health:Port", "1"), ("Health:Prot", "1")), Sections));
        Assert.Equal("unknown configuration key 'Health:Prot' (known there: Address, CheckTimeout, MaxBatchRetries, Port, StallAfter)", e.Message);
        var below = Assert.Throws<StreamsConfigurationException>(() => ConfigurationKeys.ThrowIfUnknown(Configuration(("Health:Port:x", "1")), Sections));
        Assert.Equal("unknown configuration key 'Health:Port:x' ('Health:Port' takes a value, not keys)", below.Message);
    }

    [Fact]
    public void WithRegistered_AddsAnOptionsClassBoundWithItsSectionConstant_ToTheListedOnes()
    {
        var services = new ServiceCollection();
        services.AddOptions<JobRetryOptions>().BindConfiguration(JobRetryOptions.Section);
        services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.Section);

        var sections = ConfigurationKeys.WithRegistered(Sections, services);

        Assert.Equal([typeof(JobOptions), typeof(JobRunOptions), typeof(JobRetryOptions)], sections["Job"]);
        Assert.Equal([typeof(HealthOptions)], sections["Health"]);
        Assert.Empty(ConfigurationKeys.Unknown(Configuration(("Job:MaxRetries", "3"), ("Job:Runs", "1")), sections));
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] pairs) =>
        new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value))).Build();

    private sealed class JobOptions
    {
        public string? Name { get; set; }

        public Dictionary<string, string> Keys { get; } = [];

        public IReadOnlyList<double>? Weights { get; set; }

        public LimitOptions Limits { get; set; } = new();

        public List<StepOptions> Steps { get; set; } = [];
    }

    private sealed class JobRunOptions
    {
        public int Runs { get; set; }
    }

    private sealed class JobRetryOptions
    {
        public const string Section = "Job";

        public int MaxRetries { get; set; }
    }

    private sealed class LimitOptions
    {
        public int PerSecond { get; set; }
    }

    private sealed class StepOptions
    {
        public string? Name { get; set; }
    }
}
