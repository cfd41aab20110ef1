namespace Streams.Segmentation.Model;

/// <summary>The checkpointable state of a <see cref="MiniBatchKMeans"/>.</summary>
/// <param name="K">Number of centroids.</param>
/// <param name="Dimension">Dimensions per centroid.</param>
/// <param name="Centroids">Row-major, <c>K × Dimension</c>, in standardized units.</param>
/// <param name="Counts">Per-centroid (decayed) number of points that moved it.</param>
/// <param name="SegmentIds">The published segment id of each centroid.</param>
/// <param name="NextSegmentId">The id the next new segment gets; ids are never reused.</param>
/// <param name="Version">The model version (CONTRACT §5.2 <c>model_version</c>); it increases with every seed.</param>
public sealed record KMeansState(
    int K, int Dimension, double[] Centroids, double[] Counts, int[] SegmentIds, int NextSegmentId, long Version);

/// <summary>
/// Online k-means after Sculley, "Web-scale k-means clustering" (WWW 2010), Algorithm 1: a mini-batch is first assigned
/// against the centroids as they were before it, then each point in turn moves its centroid with the per-center learning
/// rate η = 1 / v_c, where v_c counts the points that moved centroid c. Without decay a centroid is therefore exactly the
/// running mean of every point ever assigned to it (its seed counting as <c>Counts[c]</c> points).
/// <para>
/// Decay (optional, a half-life h in profiles): before each point, every count is multiplied by γ = 0.5^(1/h). A point's
/// weight in its centroid then halves with every h later points of the stream, so the centroid is an exponentially
/// weighted mean and follows a group whose behaviour moves; in the steady state a centroid holding a share s of the stream
/// has v_c ≈ s·h / ln 2, i.e. η never falls below about ln 2 / (s·h). A centroid that gets no points sees its count fade
/// towards 0, and the next point assigned to it then moves it almost all the way.
/// </para>
/// <para>The class is pure: no I/O, no clock, no randomness. <see cref="Assign(ReadOnlySpan{double}, out double)"/> does not
/// allocate. It is not thread-safe: one worker thread owns a model; readers on other threads work on a copy
/// (<see cref="ToState"/>).</para>
/// </summary>
public sealed class MiniBatchKMeans
{
    private readonly double[] _centroids;
    private readonly double[] _counts;
    private readonly int[] _segmentIds;
    private readonly double _decay;
    private int[] _batchAssignments = [];

    /// <summary>A model continuing from <paramref name="state"/>.</summary>
    /// <param name="state">The centroids, counts, ids and version (copied).</param>
    /// <param name="halfLife">Decay half-life in profiles; null or +∞ for no decay.</param>
    public MiniBatchKMeans(KMeansState state, double? halfLife = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(state.K);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(state.Dimension);
        if (state.Centroids.Length != state.K * state.Dimension || state.Counts.Length != state.K
            || state.SegmentIds.Length != state.K)
        {
            throw new ArgumentException("Centroids need K × Dimension values; Counts and SegmentIds K each.", nameof(state));
        }

        if (state.SegmentIds.Distinct().Count() != state.K || state.SegmentIds.Any(id => id < 0 || id >= state.NextSegmentId))
        {
            throw new ArgumentException("Segment ids must be distinct, non-negative and below NextSegmentId.", nameof(state));
        }

        if (halfLife is { } h && !(h > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(halfLife), halfLife, "The half-life must be positive.");
        }

        K = state.K;
        Dimension = state.Dimension;
        _centroids = (double[])state.Centroids.Clone();
        _counts = (double[])state.Counts.Clone();
        _segmentIds = (int[])state.SegmentIds.Clone();
        NextSegmentId = state.NextSegmentId;
        Version = state.Version;
        HalfLife = halfLife is { } hl && double.IsFinite(hl) ? hl : null;
        _decay = HalfLife is { } life ? Math.Pow(0.5, 1 / life) : 1;
    }

    /// <summary>Number of centroids.</summary>
    public int K { get; }

    /// <summary>Dimensions per centroid.</summary>
    public int Dimension { get; }

    /// <summary>Model version; set by the seed (see <see cref="FromSeed"/>), unchanged by updates.</summary>
    public long Version { get; }

    /// <summary>The id the next new segment gets.</summary>
    public int NextSegmentId { get; }

    /// <summary>Decay half-life in profiles, or null.</summary>
    public double? HalfLife { get; }

    /// <summary>All centroids, row-major <c>K × Dimension</c>.</summary>
    public ReadOnlySpan<double> Centroids => _centroids;

    /// <summary>Per-centroid (decayed) counts.</summary>
    public ReadOnlySpan<double> Counts => _counts;

    /// <summary>The segment id of each centroid index.</summary>
    public IReadOnlyList<int> SegmentIds => _segmentIds;

    /// <summary>Centroid <paramref name="index"/>.</summary>
    public ReadOnlySpan<double> Centroid(int index) => _centroids.AsSpan(index * Dimension, Dimension);

    /// <summary>
    /// The first model (<paramref name="previous"/> null: ids 0…k−1, version 1) or the one replacing
    /// <paramref name="previous"/> after a re-seed: centroids matched by <see cref="CentroidMatcher"/> keep their segment
    /// id, the others get fresh ids, and the version is the previous one plus 1.
    /// </summary>
    /// <param name="seed">Centroids and their counts from <see cref="KMeansSeeder"/>.</param>
    /// <param name="previous">The model being replaced, if any.</param>
    /// <param name="halfLife">Decay half-life in profiles, or null.</param>
    /// <param name="maxMatchDistance">A new centroid farther than this from its matched old one is a new segment.</param>
    public static MiniBatchKMeans FromSeed(
        KMeansSeed seed, MiniBatchKMeans? previous = null, double? halfLife = null, double maxMatchDistance = double.PositiveInfinity)
    {
        ArgumentNullException.ThrowIfNull(seed);
        var k = seed.Centroids.Count;
        if (k == 0)
        {
            throw new ArgumentException("The seed has no centroids.", nameof(seed));
        }

        var d = seed.Centroids[0].Length;
        var centroids = new double[k * d];
        for (var c = 0; c < k; c++)
        {
            if (seed.Centroids[c].Length != d)
            {
                throw new ArgumentException("Seed centroids differ in length.", nameof(seed));
            }

            seed.Centroids[c].CopyTo(centroids, c * d);
        }

        int[] ids;
        int next;
        long version;
        if (previous is null)
        {
            ids = [.. Enumerable.Range(0, k)];
            next = k;
            version = 1;
        }
        else
        {
            if (previous.Dimension != d)
            {
                throw new ArgumentException("The seed's dimension differs from the previous model's.", nameof(seed));
            }

            var oldIndexForNew = CentroidMatcher.Match(previous._centroids, previous.K, centroids, k, d, maxMatchDistance);
            ids = new int[k];
            next = previous.NextSegmentId;
            for (var c = 0; c < k; c++)
            {
                ids[c] = oldIndexForNew[c] >= 0 ? previous._segmentIds[oldIndexForNew[c]] : next++;
            }

            version = previous.Version + 1;
        }

        return new MiniBatchKMeans(new KMeansState(k, d, centroids, [.. seed.Counts], ids, next, version), halfLife);
    }

    /// <summary>The index of the nearest centroid and the Euclidean distance to it (ties go to the lower index).</summary>
    public int Assign(ReadOnlySpan<double> x, out double distance) => Assign(x, out distance, out _, out _);

    /// <summary>Nearest and runner-up centroid (−1 and +∞ when K = 1), with their Euclidean distances.</summary>
    public int Assign(ReadOnlySpan<double> x, out double distance, out int runnerUp, out double runnerUpDistance)
    {
        var best = Nearest(x, out var bestSquared, out runnerUp, out var secondSquared);
        distance = Math.Sqrt(bestSquared);
        runnerUpDistance = Math.Sqrt(secondSquared);
        return best;
    }

    private int Nearest(ReadOnlySpan<double> x, out double bestSquared, out int runnerUp, out double secondSquared)
    {
        if (x.Length != Dimension)
        {
            throw new ArgumentException($"Expected {Dimension} dimensions, got {x.Length}.", nameof(x));
        }

        var centroids = _centroids.AsSpan();
        var best = -1;
        bestSquared = double.PositiveInfinity;
        runnerUp = -1;
        secondSquared = double.PositiveInfinity;
        for (var c = 0; c < K; c++)
        {
            var squared = VectorMath.SquaredDistance(x, centroids.Slice(c * Dimension, Dimension));
            if (squared < bestSquared)
            {
                runnerUp = best;
                secondSquared = bestSquared;
                best = c;
                bestSquared = squared;
            }
            else if (squared < secondSquared)
            {
                runnerUp = c;
                secondSquared = squared;
            }
        }

        // NaN compares false everywhere; a point nobody is nearest to is malformed, never silently segment 0.
        return best >= 0 ? best : throw new ArgumentException("The point has a value that is not finite.", nameof(x));
    }

    /// <summary>One mini-batch of standardized points.</summary>
    public void Update(IReadOnlyList<double[]> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var flat = new double[batch.Count * Dimension];
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch[i].Length != Dimension)
            {
                throw new ArgumentException($"Point {i} has {batch[i].Length} dimensions, expected {Dimension}.", nameof(batch));
            }

            batch[i].CopyTo(flat, i * Dimension);
        }

        Update(flat, default);
    }

    /// <summary>
    /// One mini-batch, row-major (<c>n × Dimension</c>). When <paramref name="assignments"/> is not empty (length n) it
    /// receives each point's centroid index as assigned before the batch moved anything.
    /// </summary>
    public void Update(ReadOnlySpan<double> batch, Span<int> assignments)
    {
        if (batch.Length % Dimension != 0)
        {
            throw new ArgumentException($"The batch length must be a multiple of {Dimension}.", nameof(batch));
        }

        var n = batch.Length / Dimension;
        if (!assignments.IsEmpty && assignments.Length != n)
        {
            throw new ArgumentException($"Expected room for {n} assignments.", nameof(assignments));
        }

        if (_batchAssignments.Length < n)
        {
            _batchAssignments = new int[n];
        }

        // Sculley's step 1: cache every point's nearest centre before any centre moves.
        var cached = _batchAssignments.AsSpan(0, n);
        for (var i = 0; i < n; i++)
        {
            cached[i] = Nearest(batch.Slice(i * Dimension, Dimension), out _, out _, out _);
        }

        // Step 2: per-point gradient steps with η = 1 / v_c (counts decayed first, so v_c includes this point at weight 1).
        for (var i = 0; i < n; i++)
        {
            if (_decay < 1)
            {
                for (var c = 0; c < K; c++)
                {
                    _counts[c] *= _decay;
                }
            }

            var assigned = cached[i];
            var count = _counts[assigned] += 1;
            var eta = 1 / count;
            var centroid = _centroids.AsSpan(assigned * Dimension, Dimension);
            var x = batch.Slice(i * Dimension, Dimension);
            for (var j = 0; j < Dimension; j++)
            {
                centroid[j] += eta * (x[j] - centroid[j]);
            }
        }

        if (!assignments.IsEmpty)
        {
            cached.CopyTo(assignments);
        }
    }

    /// <summary>The centroid index of <paramref name="segmentId"/>, or −1.</summary>
    public int IndexOf(int segmentId) => Array.IndexOf(_segmentIds, segmentId);

    /// <summary>
    /// One point joins centroid <paramref name="index"/> as a running mean: η = 1 / (count + 1), no decay. With
    /// <see cref="Remove"/> this keeps a centroid the exact mean of the current vectors of its members, each counted once.
    /// </summary>
    public void Add(int index, ReadOnlySpan<double> x)
    {
        var centroid = CentroidForUpdate(index, x);
        var count = _counts[index] += 1;
        for (var j = 0; j < Dimension; j++)
        {
            centroid[j] += (x[j] - centroid[j]) / count;
        }
    }

    /// <summary>
    /// Takes back a point that <see cref="Add"/> put into centroid <paramref name="index"/> (the exact inverse while the
    /// centroid is the mean of its members): c ← (c·n − x) / (n − 1). The last member out leaves the centroid where it is,
    /// with count 0, and the next point in moves it all the way.
    /// </summary>
    public void Remove(int index, ReadOnlySpan<double> x)
    {
        var centroid = CentroidForUpdate(index, x);
        var count = _counts[index];
        if (count <= 1)
        {
            _counts[index] = 0;
            return;
        }

        for (var j = 0; j < Dimension; j++)
        {
            centroid[j] = (centroid[j] * count - x[j]) / (count - 1);
        }

        _counts[index] = count - 1;
    }

    /// <summary>
    /// Every centroid becomes the exact mean of the points given to it (<paramref name="indices"/>[i] is point i's
    /// centroid) and its count their number; a centroid without points stays where it is, with count 0.
    /// </summary>
    public void SetMeans(IReadOnlyList<double[]> points, IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(indices);
        if (points.Count != indices.Count)
        {
            throw new ArgumentException("One centroid index per point.", nameof(indices));
        }

        var sums = new double[K * Dimension];
        var counts = new double[K];
        for (var i = 0; i < points.Count; i++)
        {
            var c = indices[i];
            CentroidForUpdate(c, points[i]);
            counts[c]++;
            for (var j = 0; j < Dimension; j++)
            {
                sums[c * Dimension + j] += points[i][j];
            }
        }

        SetMeans(sums, counts);
    }

    /// <summary>
    /// Every centroid becomes <paramref name="sums"/> (row-major, <c>K × Dimension</c>) divided by its
    /// <paramref name="counts"/>, and its count that number; a centroid without points stays where it is, with count 0.
    /// </summary>
    public void SetMeans(ReadOnlySpan<double> sums, ReadOnlySpan<double> counts)
    {
        if (sums.Length != K * Dimension || counts.Length != K)
        {
            throw new ArgumentException($"Expected {K} × {Dimension} sums and {K} counts, got {sums.Length} and {counts.Length}.");
        }

        for (var c = 0; c < K; c++)
        {
            _counts[c] = counts[c];
            for (var j = 0; j < Dimension && counts[c] > 0; j++)
            {
                _centroids[c * Dimension + j] = sums[c * Dimension + j] / counts[c];
            }
        }
    }

    private Span<double> CentroidForUpdate(int index, ReadOnlySpan<double> x)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, K);
        if (x.Length != Dimension)
        {
            throw new ArgumentException($"Expected {Dimension} dimensions, got {x.Length}.", nameof(x));
        }

        return _centroids.AsSpan(index * Dimension, Dimension);
    }

    /// <summary>Σ over the points of the squared distance to the nearest centroid (the k-means objective).</summary>
    public double Inertia(IReadOnlyList<double[]> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var sum = 0.0;
        foreach (var point in points)
        {
            Nearest(point, out var squared, out _, out _);
            sum += squared;
        }

        return sum;
    }

    /// <summary>A copy of the state, for the checkpoint.</summary>
    public KMeansState ToState() =>
        new(K, Dimension, (double[])_centroids.Clone(), (double[])_counts.Clone(), (int[])_segmentIds.Clone(), NextSegmentId, Version);
}
