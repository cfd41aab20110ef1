namespace Streams.Segmentation.Model;

/// <summary>Plain-language sentences from standardized values, with the phrase table in <see cref="FeatureSpace.Dimensions"/>.</summary>
internal static class FeaturePhrases
{
    /// <summary>|z| from which a value is called high or low: half a standard deviation from the average.</summary>
    public const double NotableZ = 0.5;

    public static string Phrase(string feature, double z)
    {
        var index = FeatureSpace.IndexOf(feature);
        if (index < 0)
        {
            throw new ArgumentException($"Unknown feature {feature}.", nameof(feature));
        }

        var dimension = FeatureSpace.Dimensions[index];
        return z >= NotableZ ? dimension.High : z <= -NotableZ ? dimension.Low : $"has typical {dimension.Noun}";
    }

    /// <summary>Clauses joined by "; ", duplicates dropped, the first letter capitalized, a full stop at the end.</summary>
    public static string Sentence(IEnumerable<string> clauses, string prefix = "")
    {
        var text = prefix + string.Join("; ", clauses.Distinct(StringComparer.Ordinal)) + ".";
        return string.Concat(text[..1].ToUpperInvariant(), text.AsSpan(1));
    }
}
