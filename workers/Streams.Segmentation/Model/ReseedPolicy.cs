namespace Streams.Segmentation.Model;

/// <summary>When the worker throws the online centroids away and seeds afresh with ML.NET.</summary>
public static class ReseedPolicy
{
    /// <summary>
    /// The poor-optimum guard: true when a fresh batch fit's inertia on the sample is lower than the online model's by
    /// more than <paramref name="margin"/> of the batch fit's (0.05: the online model is more than 5 % worse). Inertias
    /// that are not finite decide nothing.
    /// </summary>
    public static bool BatchFitIsBetter(double onlineInertia, double batchInertia, double margin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(margin);
        return double.IsFinite(onlineInertia) && double.IsFinite(batchInertia) && onlineInertia > batchInertia * (1 + margin);
    }
}
