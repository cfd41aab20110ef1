namespace Streams.Segmentation.Model;

/// <summary>The checkpointable state of a <see cref="ReservoirSample{T}"/>.</summary>
/// <param name="Seen">Items offered so far.</param>
/// <param name="Items">The sample, at most the capacity.</param>
public sealed record ReservoirState<T>(long Seen, T[] Items);

/// <summary>
/// A uniform sample of fixed size from a stream of unknown length: Vitter's algorithm R ("Random sampling with a
/// reservoir", 1985). The n-th item (1-based) replaces slot j when j, uniform in [0, n), is below the capacity, so after n
/// items each one is in the sample with probability capacity / n.
/// <para>
/// j is not drawn from a stateful generator but computed from (seed, n) by SplitMix64, a counter-based generator. The whole
/// state is therefore <see cref="Seen"/> and the items: a worker restored from a checkpoint continues the very same sample.
/// </para>
/// </summary>
public sealed class ReservoirSample<T>
{
    private readonly List<T> _items;
    private readonly ulong _seed;

    /// <summary>An empty reservoir.</summary>
    public ReservoirSample(int capacity, int seed)
        : this(capacity, seed, new ReservoirState<T>(0, []))
    {
    }

    /// <summary>A reservoir continuing from <paramref name="state"/>; <paramref name="capacity"/> and
    /// <paramref name="seed"/> must be the ones it was built with.</summary>
    public ReservoirSample(int capacity, int seed, ReservoirState<T> state)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentNullException.ThrowIfNull(state);
        if (state.Items.Length > capacity || state.Items.Length != Math.Min(state.Seen, capacity))
        {
            throw new ArgumentException("The state does not fit the capacity.", nameof(state));
        }

        Capacity = capacity;
        _seed = (ulong)(uint)seed;
        Seen = state.Seen;
        _items = new List<T>(capacity);
        _items.AddRange(state.Items);
    }

    /// <summary>Maximum sample size.</summary>
    public int Capacity { get; }

    /// <summary>Items offered so far.</summary>
    public long Seen { get; private set; }

    /// <summary>The current sample (in slot order).</summary>
    public IReadOnlyList<T> Items => _items;

    /// <summary>Offers one item; returns whether it entered the sample.</summary>
    public bool Offer(T item)
    {
        Seen++;
        if (_items.Count < Capacity)
        {
            _items.Add(item);
            return true;
        }

        var slot = UniformBelow(_seed, Seen);
        if (slot < (ulong)Capacity)
        {
            _items[(int)slot] = item;
            return true;
        }

        return false;
    }

    /// <summary>A copy of the state, for the checkpoint (the items themselves are not cloned).</summary>
    public ReservoirState<T> ToState() => new(Seen, [.. _items]);

    /// <summary>Uniform in [0, n): SplitMix64 of (seed, n), scaled by a 64×64→128-bit multiply (Lemire), which avoids
    /// the bias of a modulo.</summary>
    internal static ulong UniformBelow(ulong seed, long n)
    {
        var z = unchecked(seed * 0xD1B54A32D192ED03UL + (ulong)n * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return Math.BigMul(z, (ulong)n, out _);
    }
}
