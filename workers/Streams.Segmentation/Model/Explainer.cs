namespace Streams.Segmentation.Model;

/// <summary>One line of an explanation (CONTRACT §5.2 <c>explanation</c>).</summary>
/// <param name="Feature">Dimension name.</param>
/// <param name="ProfileZ">The profile's standardized value.</param>
/// <param name="SegmentZ">The assigned segment's centroid value.</param>
/// <param name="Contribution">(x − b)² − (x − a)²: how much this feature favours the segment over the runner-up.</param>
public sealed record FeatureContribution(string Feature, double ProfileZ, double SegmentZ, double Contribution);

/// <summary>
/// Why a profile x went to its nearest centroid a rather than the runner-up b. The squared distances decompose per
/// feature, d(x,b)² − d(x,a)² = Σ_j [(x_j − b_j)² − (x_j − a_j)²], so each term is exactly that feature's share of the
/// margin: positive favours a, negative favours b, and the terms add up to the margin. With k = 1 there is no runner-up;
/// pass the population mean (all zeros) as b and the explanation says why x is in a rather than "average".
/// </summary>
public static class Explainer
{
    /// <summary>The most features an explanation lists.</summary>
    public const int MaxFeatures = 3;

    /// <summary>Per-feature contributions (x_j − b_j)² − (x_j − a_j)² into <paramref name="destination"/>.</summary>
    public static void Contributions(
        ReadOnlySpan<double> profile, ReadOnlySpan<double> segment, ReadOnlySpan<double> runnerUp, Span<double> destination)
    {
        if (segment.Length != profile.Length || runnerUp.Length != profile.Length || destination.Length != profile.Length)
        {
            throw new ArgumentException("The profile, both centroids and the destination need the same dimension.");
        }

        for (var j = 0; j < profile.Length; j++)
        {
            var toB = profile[j] - runnerUp[j];
            var toA = profile[j] - segment[j];
            destination[j] = toB * toB - toA * toA;
        }
    }

    /// <summary>
    /// The features that most favour <paramref name="segment"/> over <paramref name="runnerUp"/>, largest contribution
    /// first: those with a positive contribution, at most <paramref name="maxFeatures"/>, always at least one. When
    /// <paramref name="raw"/> (the profile's raw vector) is given, features the profile does not have (NaN) are not listed —
    /// their imputed value says nothing about the person, and the channel indicator speaks for them — though their
    /// contributions still count in the margin.
    /// </summary>
    public static IReadOnlyList<FeatureContribution> Explain(ReadOnlySpan<double> profile, ReadOnlySpan<double> segment,
        ReadOnlySpan<double> runnerUp, ReadOnlySpan<double> raw = default, int maxFeatures = MaxFeatures)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFeatures);
        if (profile.Length != FeatureSpace.Dimension || (!raw.IsEmpty && raw.Length != profile.Length))
        {
            throw new ArgumentException($"Explanations are over the {FeatureSpace.Dimension} dimensions of the feature space.");
        }

        Span<double> contributions = stackalloc double[profile.Length];
        Contributions(profile, segment, runnerUp, contributions);

        // Stable order: larger contribution first, then dimension order (an insertion sort keeps equal ones in dimension
        // order, and for a few dozen dimensions needs neither a copy of the keys nor a comparison delegate).
        Span<int> order = stackalloc int[profile.Length];
        for (var j = 0; j < order.Length; j++)
        {
            var i = j;
            while (i > 0 && contributions[order[i - 1]].CompareTo(contributions[j]) < 0)
            {
                order[i] = order[i - 1];
                i--;
            }

            order[i] = j;
        }

        var result = new List<FeatureContribution>(maxFeatures);
        foreach (var j in order)
        {
            if (result.Count == maxFeatures || contributions[j] <= 0)
            {
                break;
            }

            if (raw.IsEmpty || !double.IsNaN(raw[j]))
            {
                result.Add(new FeatureContribution(FeatureSpace.Names[j], profile[j], segment[j], contributions[j]));
            }
        }

        if (result.Count == 0)
        {
            var j = order[0];
            foreach (var candidate in order)
            {
                if (raw.IsEmpty || !double.IsNaN(raw[candidate]))
                {
                    j = candidate;
                    break;
                }
            }

            result.Add(new FeatureContribution(FeatureSpace.Names[j], profile[j], segment[j], contributions[j]));
        }

        return result;
    }

    /// <summary>
    /// One sentence from an explanation, describing the profile by each listed feature's <c>profile_z</c>: high (≥ 0.5),
    /// low (≤ −0.5) or typical. "Spends more in stores than most customers; rarely browses online."
    /// </summary>
    public static string Summary(IReadOnlyList<FeatureContribution> explanation)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        if (explanation.Count == 0)
        {
            throw new ArgumentException("An explanation has at least one feature.", nameof(explanation));
        }

        return FeaturePhrases.Sentence(explanation.Select(c => FeaturePhrases.Phrase(c.Feature, c.ProfileZ)));
    }
}
