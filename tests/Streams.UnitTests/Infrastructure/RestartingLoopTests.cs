using Streams.Infrastructure.Hosting;

namespace Streams.UnitTests.Infrastructure;

public sealed class RestartingLoopTests
{
    [Fact]
    public void Describe_NamesEveryCause_SoATimeoutReadsAsOne()
    {
        var e = new IOException("Exception while reading from stream", new TimeoutException("Timeout during reading attempt"));

        Assert.Equal("Exception while reading from stream (TimeoutException: Timeout during reading attempt)", RestartingLoop.Describe(e));
        Assert.Equal("plain", RestartingLoop.Describe(new InvalidOperationException("plain")));
    }
}
