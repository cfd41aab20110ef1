using System.Text.Json;

namespace Streams.UnitTests.Infrastructure;

/// <summary>
/// The runtime settings the host ships in its <c>runtimeconfig.json</c>, and that the load commands copy so that they
/// measure what ships (benchmarks/README.md).
/// </summary>
public sealed class RuntimeSettingsTests
{
    [Theory]
    [InlineData("Streams.Host")]
    [InlineData("Streams.Benchmarks")]
    public void TheServerCollector_AndThreadPoolWorkersThatSleepInsteadOfSpinning(string program)
    {
        var settings = ConfigProperties(program);

        Assert.True(settings.GetProperty("System.GC.Server").GetBoolean());
        Assert.Equal(0, settings.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
    }

    // Each referenced program's runtimeconfig.json is copied next to the tests.
    private static JsonElement ConfigProperties(string program)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, $"{program}.runtimeconfig.json")));
        return document.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").Clone();
    }
}
