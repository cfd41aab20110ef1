using Streams.Segmentation.Model;

namespace Streams.UnitTests.Segmentation;

public sealed class ReseedPolicyTests
{
    [Theory]
    [InlineData(100.0, 100.0, 0.05, false)]
    [InlineData(105.0, 100.0, 0.05, false)]
    [InlineData(105.1, 100.0, 0.05, true)]
    [InlineData(90.0, 100.0, 0.05, false)]
    [InlineData(100.1, 100.0, 0.0, true)]
    [InlineData(double.NaN, 100.0, 0.05, false)]
    [InlineData(double.PositiveInfinity, 100.0, 0.05, false)]
    [InlineData(200.0, double.NaN, 0.05, false)]
    public void BatchFitIsBetter_OnlyBeyondTheMargin(double online, double batch, double margin, bool expected) =>
        Assert.Equal(expected, ReseedPolicy.BatchFitIsBetter(online, batch, margin));

    [Fact]
    public void BatchFitIsBetter_NegativeMargin_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ReseedPolicy.BatchFitIsBetter(1, 1, -0.1));
}
