namespace Streams.Segmentation.Model;

/// <summary>The checkpointable state of a <see cref="RunningScaler"/>: per dimension, the number of values seen, their mean
/// and the sum of squared deviations from the mean (Welford's M2).</summary>
public sealed record RunningScalerState(long[] Counts, double[] Mean, double[] M2);

/// <summary>
/// Running mean and variance per dimension (Welford 1962: numerically stable in one pass), so the scaling follows the
/// population. A missing value (<see cref="double.NaN"/>) does not enter the statistics, which is why the count is kept per
/// dimension: the mean call sentiment is the mean over the profiles that call. The standard deviation is the population one
/// (M2 / n).
/// </summary>
public sealed class RunningScaler
{
    /// <summary>Below this standard deviation a dimension carries no information yet and standardizes to 0.</summary>
    public const double MinimumStandardDeviation = 1e-9;

    private readonly long[] _counts;
    private readonly double[] _mean;
    private readonly double[] _m2;

    /// <summary>An empty scaler for <paramref name="dimension"/> dimensions.</summary>
    public RunningScaler(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        _counts = new long[dimension];
        _mean = new double[dimension];
        _m2 = new double[dimension];
    }

    /// <summary>A scaler continuing from a checkpoint.</summary>
    public RunningScaler(RunningScalerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Counts.Length == 0 || state.Mean.Length != state.Counts.Length || state.M2.Length != state.Counts.Length)
        {
            throw new ArgumentException("Counts, Mean and M2 need the same, positive length.", nameof(state));
        }

        _counts = (long[])state.Counts.Clone();
        _mean = (double[])state.Mean.Clone();
        _m2 = (double[])state.M2.Clone();
    }

    /// <summary>The number of dimensions.</summary>
    public int Dimension => _counts.Length;

    /// <summary>Values seen in dimension <paramref name="j"/>.</summary>
    public long Count(int j) => _counts[j];

    /// <summary>Running mean of dimension <paramref name="j"/>.</summary>
    public double Mean(int j) => _mean[j];

    /// <summary>Running population standard deviation of dimension <paramref name="j"/>.</summary>
    public double StandardDeviation(int j) => _counts[j] == 0 ? 0 : Math.Sqrt(_m2[j] / _counts[j]);

    /// <summary>Adds one raw vector to the statistics; <see cref="double.NaN"/> entries are skipped.</summary>
    public void Observe(ReadOnlySpan<double> raw)
    {
        CheckLength(raw.Length);
        for (var j = 0; j < raw.Length; j++)
        {
            var x = raw[j];
            if (double.IsNaN(x))
            {
                continue;
            }

            var n = ++_counts[j];
            var delta = x - _mean[j];
            _mean[j] += delta / n;
            _m2[j] += delta * (x - _mean[j]);
        }
    }

    /// <summary>z = (x − mean) / sd; a missing value, an unseen dimension or one without spread gives 0.</summary>
    public void Standardize(ReadOnlySpan<double> raw, Span<double> destination)
    {
        CheckLength(raw.Length);
        CheckLength(destination.Length);
        for (var j = 0; j < raw.Length; j++)
        {
            var sd = StandardDeviation(j);
            destination[j] = double.IsNaN(raw[j]) || sd < MinimumStandardDeviation ? 0 : (raw[j] - _mean[j]) / sd;
        }
    }

    /// <summary>x = mean + z·sd, the raw (transformed) value; <see cref="double.NaN"/> for a dimension never seen.</summary>
    public void Unstandardize(ReadOnlySpan<double> standardized, Span<double> destination)
    {
        CheckLength(standardized.Length);
        CheckLength(destination.Length);
        for (var j = 0; j < standardized.Length; j++)
        {
            var sd = StandardDeviation(j);
            destination[j] = _counts[j] == 0 ? double.NaN : _mean[j] + (sd < MinimumStandardDeviation ? 0 : standardized[j] * sd);
        }
    }

    /// <summary>A copy of the state, for the checkpoint.</summary>
    public RunningScalerState ToState() => new((long[])_counts.Clone(), (double[])_mean.Clone(), (double[])_m2.Clone());

    private void CheckLength(int length)
    {
        if (length != _counts.Length)
        {
            throw new ArgumentException($"Expected {_counts.Length} dimensions, got {length}.");
        }
    }
}
