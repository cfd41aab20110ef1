using Streams.Segmentation.Model;

namespace Streams.UnitTests.Segmentation;

public sealed class ReseedPolicyTests
{
    [Theory]
    [InlineData(1.0, 1.0, 0.25, false, false)]
    [InlineData(1.25, 1.0, 0.25, false, false)]
    [InlineData(1.26, 1.0, 0.25, false, true)]
    [InlineData(0.5, 1.0, 0.25, false, false)]
    [InlineData(0.5, 1.0, 0.25, true, true)]
    [InlineData(1.01, 1.0, 0.0, false, true)]
    [InlineData(double.NaN, 1.0, 0.25, false, false)]
    [InlineData(5.0, double.NaN, 0.25, false, false)]
    [InlineData(5.0, 0.0, 0.25, false, false)]
    [InlineData(double.PositiveInfinity, 1.0, 0.25, false, true)]
    public void ShouldReseed_ReseedsOnRelativeDegradationOrNewK(double current, double baseline, double threshold, bool kChanged,
        bool expected) =>
        Assert.Equal(expected, ReseedPolicy.ShouldReseed(current, baseline, threshold, kChanged));

    [Fact]
    public void ShouldReseed_NegativeThreshold_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ReseedPolicy.ShouldReseed(1, 1, -0.1, false));
}
