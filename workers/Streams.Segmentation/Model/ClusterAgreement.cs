namespace Streams.Segmentation.Model;

/// <summary>
/// How well a segmentation agrees with known groups (a simulator's personas, another clustering), from the contingency
/// table of the two labelings. Pure; used by the segment-quality benchmark and the end-to-end tests.
/// </summary>
public static class ClusterAgreement
{
    /// <summary>
    /// Hubert and Arabie's adjusted Rand index: 1 for the same partition (labels may differ), about 0 for chance agreement.
    /// Two labelings that each put everything into one group count as the same partition (1).
    /// </summary>
    public static double AdjustedRandIndex<TA, TB>(IReadOnlyList<TA> truth, IReadOnlyList<TB> found)
        where TA : notnull where TB : notnull
    {
        var (table, rows, columns, n) = Contingency(truth, found);
        static double Pairs(long m) => m * (m - 1) / 2.0;
        var index = table.Values.Sum(Pairs);
        var rowPairs = rows.Values.Sum(Pairs);
        var columnPairs = columns.Values.Sum(Pairs);
        var all = Pairs(n);
        var expected = all == 0 ? 0 : rowPairs * columnPairs / all;
        var maximum = (rowPairs + columnPairs) / 2;
        return maximum == expected ? 1 : (index - expected) / (maximum - expected);
    }

    /// <summary>Mutual information over the arithmetic mean of the two entropies (scikit-learn's default); 1 when both
    /// labelings are a single group.</summary>
    public static double NormalizedMutualInformation<TA, TB>(IReadOnlyList<TA> truth, IReadOnlyList<TB> found)
        where TA : notnull where TB : notnull
    {
        var (table, rows, columns, n) = Contingency(truth, found);
        if (n == 0)
        {
            return 1;
        }

        double Entropy(IEnumerable<long> counts) => -counts.Sum(c => c / (double)n * Math.Log(c / (double)n));
        var mutual = table.Sum(cell =>
            cell.Value / (double)n * Math.Log(cell.Value * (double)n / (rows[cell.Key.Item1] * (double)columns[cell.Key.Item2])));
        var mean = (Entropy(rows.Values) + Entropy(columns.Values)) / 2;
        return mean <= 0 ? 1 : Math.Clamp(mutual / mean, 0, 1);
    }

    /// <summary>Share of profiles whose segment's most common true group is their own.</summary>
    public static double Purity<TA, TB>(IReadOnlyList<TA> truth, IReadOnlyList<TB> found)
        where TA : notnull where TB : notnull
    {
        var (table, _, _, n) = Contingency(truth, found);
        return n == 0 ? 1 : table.GroupBy(cell => cell.Key.Item2).Sum(g => g.Max(cell => cell.Value)) / (double)n;
    }

    private static (Dictionary<(TA, TB), long> Table, Dictionary<TA, long> Rows, Dictionary<TB, long> Columns, long N) Contingency<TA, TB>(
        IReadOnlyList<TA> truth, IReadOnlyList<TB> found)
        where TA : notnull where TB : notnull
    {
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(found);
        if (truth.Count != found.Count)
        {
            throw new ArgumentException("Both labelings need one label per item.", nameof(found));
        }

        var table = new Dictionary<(TA, TB), long>();
        var rows = new Dictionary<TA, long>();
        var columns = new Dictionary<TB, long>();
        for (var i = 0; i < truth.Count; i++)
        {
            table[(truth[i], found[i])] = table.GetValueOrDefault((truth[i], found[i])) + 1;
            rows[truth[i]] = rows.GetValueOrDefault(truth[i]) + 1;
            columns[found[i]] = columns.GetValueOrDefault(found[i]) + 1;
        }

        return (table, rows, columns, truth.Count);
    }
}
