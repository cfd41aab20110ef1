using Streams.Segmentation.Model;

namespace Streams.UnitTests.Segmentation;

public sealed class ClusterAgreementTests
{
    [Fact]
    public void SamePartition_OtherLabels_ScoresOne()
    {
        string[] truth = ["a", "a", "b", "b", "c", "c"];
        int[] found = [7, 7, 3, 3, 9, 9];
        Assert.Equal(1, ClusterAgreement.AdjustedRandIndex(truth, found), 12);
        Assert.Equal(1, ClusterAgreement.NormalizedMutualInformation(truth, found), 12);
        Assert.Equal(1, ClusterAgreement.Purity(truth, found), 12);
    }

    [Fact]
    public void KnownTable_MatchesHandComputedValues()
    {
        // Contingency [[2,1],[0,3]]: Σ C(n_ij,2) = 1 + 0 + 3 = 4; rows C(3,2)·2 = 6; columns C(2,2) + C(4,2) = 7; C(6,2) = 15.
        // ARI = (4 − 6·7/15) / ((6 + 7)/2 − 6·7/15) = 1.2 / 3.7.
        string[] truth = ["a", "a", "a", "b", "b", "b"];
        int[] found = [0, 0, 1, 1, 1, 1];
        Assert.Equal(1.2 / 3.7, ClusterAgreement.AdjustedRandIndex(truth, found), 12);
        Assert.Equal(5 / 6.0, ClusterAgreement.Purity(truth, found), 12);
        // MI = Σ p_ij ln(p_ij / (p_i p_j)); entropies of (1/2, 1/2) and (1/3, 2/3).
        var mi = 2 / 6.0 * Math.Log(2 / 6.0 / (0.5 * 2 / 6.0)) + 1 / 6.0 * Math.Log(1 / 6.0 / (0.5 * 4 / 6.0))
            + 3 / 6.0 * Math.Log(3 / 6.0 / (0.5 * 4 / 6.0));
        var h = (Math.Log(2) + -(1 / 3.0 * Math.Log(1 / 3.0) + 2 / 3.0 * Math.Log(2 / 3.0))) / 2;
        Assert.Equal(mi / h, ClusterAgreement.NormalizedMutualInformation(truth, found), 12);
    }

    [Fact]
    public void IndependentLabels_ScoreNearZero()
    {
        var random = new Random(5);
        var truth = Enumerable.Range(0, 20_000).Select(_ => random.Next(5)).ToArray();
        var found = Enumerable.Range(0, 20_000).Select(_ => random.Next(5)).ToArray();
        Assert.InRange(ClusterAgreement.AdjustedRandIndex(truth, found), -0.01, 0.01);
        Assert.InRange(ClusterAgreement.NormalizedMutualInformation(truth, found), 0, 0.01);
    }

    [Fact]
    public void DifferentLengths_Throw() =>
        Assert.Throws<ArgumentException>(() => ClusterAgreement.AdjustedRandIndex([1, 2], [1]));
}
