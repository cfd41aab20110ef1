namespace Streams.Segmentation.Model;

/// <summary>When the worker throws the online centroids away and seeds afresh with ML.NET.</summary>
public static class ReseedPolicy
{
    /// <summary>
    /// True when k changed, or when the Davies–Bouldin index (lower is better) has grown by more than the relative
    /// <paramref name="threshold"/> over the baseline measured right after the last seed: 0.25 re-seeds once it is 25 %
    /// worse. An index of +∞ (two segments with the same centre) is a degradation; NaN (an empty sample) or a baseline
    /// that is not a positive finite number decides nothing.
    /// </summary>
    public static bool ShouldReseed(double currentDbi, double baselineDbi, double threshold, bool kChanged)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threshold);
        if (kChanged)
        {
            return true;
        }

        return !double.IsNaN(currentDbi) && double.IsFinite(baselineDbi) && baselineDbi > 0
            && currentDbi > baselineDbi * (1 + threshold);
    }
}
