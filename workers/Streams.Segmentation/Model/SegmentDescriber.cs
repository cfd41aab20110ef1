namespace Streams.Segmentation.Model;

/// <summary>A centroid coordinate that sets a segment apart (CONTRACT §5.3 <c>top_features</c>).</summary>
public sealed record DistinctiveFeature(string Feature, double SegmentZ);

/// <summary>
/// Catalog text for a segment. The centroid is in standardized units, so |z| says how far, in population standard
/// deviations, the segment's typical member is from the average customer: the largest |z| are its most distinctive features.
/// </summary>
public static class SegmentDescriber
{
    /// <summary>The <paramref name="count"/> dimensions with the largest |z| (ties in dimension order).</summary>
    public static IReadOnlyList<DistinctiveFeature> TopFeatures(ReadOnlySpan<double> centroid, int count = 3)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (centroid.Length != FeatureSpace.Dimension)
        {
            throw new ArgumentException($"A centroid has {FeatureSpace.Dimension} dimensions.", nameof(centroid));
        }

        var values = centroid.ToArray();
        return
        [
            .. Enumerable.Range(0, values.Length)
                .OrderByDescending(j => Math.Abs(values[j]))
                .ThenBy(j => j)
                .Take(count)
                .Select(j => new DistinctiveFeature(FeatureSpace.Names[j], values[j])),
        ];
    }

    /// <summary>
    /// One sentence from the notable (|z| ≥ 0.5) among the top features: "A typical member spends more in stores than most
    /// customers; rarely browses online." A segment without any is "close to the average customer".
    /// </summary>
    public static string Describe(ReadOnlySpan<double> centroid, int count = 3)
    {
        var notable = TopFeatures(centroid, count).Where(f => Math.Abs(f.SegmentZ) >= FeaturePhrases.NotableZ).ToList();
        return notable.Count == 0
            ? "A typical member is close to the average customer in every respect."
            : FeaturePhrases.Sentence(notable.Select(f => FeaturePhrases.Phrase(f.Feature, f.SegmentZ)), "A typical member ");
    }
}
