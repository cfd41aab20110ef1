namespace Streams.Segmentation.Model;

/// <summary>
/// Matches the centroids of a re-seed to the ones they replace, so a segment keeps its id while it is the same group of
/// people. The matching minimizes the total Euclidean distance over all pairs (the assignment problem, solved exactly by
/// the Hungarian algorithm in O(k³) — microseconds for k ≤ 32). With a different k the surplus centroids stay unmatched.
/// </summary>
public static class CentroidMatcher
{
    /// <summary>
    /// For each new centroid, the index of the old centroid it continues, or −1 when it is a new group: k grew, or its
    /// matched partner is farther than <paramref name="maxDistance"/>.
    /// </summary>
    public static int[] Match(
        IReadOnlyList<double[]> oldCentroids, IReadOnlyList<double[]> newCentroids, double maxDistance = double.PositiveInfinity)
    {
        ArgumentNullException.ThrowIfNull(oldCentroids);
        ArgumentNullException.ThrowIfNull(newCentroids);
        if (newCentroids.Count == 0)
        {
            return [];
        }

        var d = newCentroids[0].Length;
        return Match(Flatten(oldCentroids, d), oldCentroids.Count, Flatten(newCentroids, d), newCentroids.Count, d, maxDistance);
    }

    internal static int[] Match(ReadOnlySpan<double> oldCentroids, int oldK, ReadOnlySpan<double> newCentroids, int newK, int d,
        double maxDistance)
    {
        if (maxDistance is double.NaN or < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxDistance), maxDistance, "The distance limit must be 0 or more.");
        }

        // Rows are new centroids, columns old ones; padding rows/columns cost 0 and mean "unmatched". Capping the cost at
        // maxDistance makes a far pair no more attractive to the optimizer than leaving both sides alone.
        var n = Math.Max(oldK, newK);
        var cost = new double[n, n];
        var distance = new double[newK, oldK];
        for (var i = 0; i < newK; i++)
        {
            for (var j = 0; j < oldK; j++)
            {
                distance[i, j] = Math.Sqrt(VectorMath.SquaredDistance(newCentroids.Slice(i * d, d), oldCentroids.Slice(j * d, d)));
                cost[i, j] = Math.Min(distance[i, j], maxDistance);
            }
        }

        var columnForRow = Hungarian(cost);
        var result = new int[newK];
        for (var i = 0; i < newK; i++)
        {
            var j = columnForRow[i];
            result[i] = j < oldK && distance[i, j] <= maxDistance ? j : -1;
        }

        return result;
    }

    /// <summary>
    /// Minimum-cost perfect matching of a square cost matrix: the column assigned to each row. Kuhn–Munkres with row and
    /// column potentials (u, v) and shortest augmenting paths, O(n³).
    /// </summary>
    internal static int[] Hungarian(double[,] cost)
    {
        var n = cost.GetLength(0);
        if (cost.GetLength(1) != n)
        {
            throw new ArgumentException("The cost matrix must be square.", nameof(cost));
        }

        // 1-based, with column 0 as the virtual start of every augmenting path.
        var u = new double[n + 1];
        var v = new double[n + 1];
        var rowOfColumn = new int[n + 1];
        var way = new int[n + 1];
        var minSlack = new double[n + 1];
        var used = new bool[n + 1];
        for (var row = 1; row <= n; row++)
        {
            rowOfColumn[0] = row;
            var column0 = 0;
            Array.Fill(minSlack, double.PositiveInfinity);
            Array.Clear(used);
            do
            {
                used[column0] = true;
                var row0 = rowOfColumn[column0];
                var delta = double.PositiveInfinity;
                var column1 = 0;
                for (var column = 1; column <= n; column++)
                {
                    if (used[column])
                    {
                        continue;
                    }

                    var slack = cost[row0 - 1, column - 1] - u[row0] - v[column];
                    if (slack < minSlack[column])
                    {
                        minSlack[column] = slack;
                        way[column] = column0;
                    }

                    if (minSlack[column] < delta)
                    {
                        delta = minSlack[column];
                        column1 = column;
                    }
                }

                for (var column = 0; column <= n; column++)
                {
                    if (used[column])
                    {
                        u[rowOfColumn[column]] += delta;
                        v[column] -= delta;
                    }
                    else
                    {
                        minSlack[column] -= delta;
                    }
                }

                column0 = column1;
            }
            while (rowOfColumn[column0] != 0);

            do
            {
                var column1 = way[column0];
                rowOfColumn[column0] = rowOfColumn[column1];
                column0 = column1;
            }
            while (column0 != 0);
        }

        var columnForRow = new int[n];
        for (var column = 1; column <= n; column++)
        {
            columnForRow[rowOfColumn[column] - 1] = column - 1;
        }

        return columnForRow;
    }

    private static double[] Flatten(IReadOnlyList<double[]> centroids, int d)
    {
        var flat = new double[centroids.Count * d];
        for (var i = 0; i < centroids.Count; i++)
        {
            if (centroids[i].Length != d)
            {
                throw new ArgumentException("All centroids need the same dimension.", nameof(centroids));
            }

            centroids[i].CopyTo(flat, i * d);
        }

        return flat;
    }
}
