using Streams.Infrastructure.Diagnostics;

namespace Streams.UnitTests.Infrastructure;

public sealed class CrashPointsTests
{
    [Theory]
    [InlineData(null, "")]
    [InlineData("", "")]
    [InlineData("ingest.after-flush@3", "ingest.after-flush=3")]
    [InlineData(" a@1 , b.c@20 ", "a=1;b.c=20")]
    [InlineData("no-count,zero@0,neg@-1,words@x,@5", "")]
    public void Parse_KeepsOnlyWellFormedPoints(string? value, string expected)
    {
        var parsed = CrashPoints.Parse(value);
        Assert.Equal(expected, string.Join(';', parsed.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")));
    }

    [Fact]
    public void Reach_WhenNothingIsArmed_DoesNothing()
    {
        Assert.False(CrashPoints.Enabled);
        CrashPoints.Reach("ingest.after-flush");
    }
}
