namespace Streams.Segmentation.Model;

/// <summary>A profile's current raw vector in a <see cref="ProfileSample"/>.</summary>
public sealed record SampledProfile(string ProfileId, double[] Raw);

/// <summary>The checkpointable state of a <see cref="ProfileSample"/>.</summary>
/// <param name="Seen">Distinct profiles offered so far.</param>
/// <param name="Items">The sampled profiles, at most the capacity.</param>
public sealed record ProfileSampleState(long Seen, SampledProfile[] Items);

/// <summary>
/// A uniform sample of profiles, not of updates: each profile enters at most once, when it first becomes eligible, with
/// the probability of Vitter's algorithm R over distinct profiles (<see cref="ReservoirSample{T}"/>'s counter-based draw),
/// and while it is in the sample its vector is replaced by every update, so the sample always holds current vectors. A
/// profile updated 30 times weighs as much as one updated once. A profile that leaves (erased, merged away, opted out)
/// leaves the sample; its slot is refilled by the next profile offered.
/// </summary>
public sealed class ProfileSample
{
    private readonly List<SampledProfile> _items;
    private readonly Dictionary<string, int> _slots;
    private readonly ulong _seed;

    // What ToState last returned, until the sample changes: lets the engine keep this sample (and its index) for the next
    // mini-batch only while the checkpoint holds exactly this state.
    private ProfileSampleState? _state;

    /// <summary>A sample continuing from <paramref name="state"/> (empty when null).</summary>
    public ProfileSample(int capacity, int seed, ProfileSampleState? state = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        state ??= new ProfileSampleState(0, []);
        if (state.Items.Length > capacity || state.Items.Length > state.Seen)
        {
            throw new ArgumentException("The state does not fit the capacity.", nameof(state));
        }

        Capacity = capacity;
        _seed = (ulong)(uint)seed;
        Seen = state.Seen;
        _items = [.. state.Items];
        _slots = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _items.Count; i++)
        {
            if (!_slots.TryAdd(_items[i].ProfileId, i))
            {
                throw new ArgumentException($"Profile {_items[i].ProfileId} is in the sample twice.", nameof(state));
            }
        }
    }

    public int Capacity { get; }

    /// <summary>Distinct profiles offered so far.</summary>
    public long Seen { get; private set; }

    public IReadOnlyList<SampledProfile> Items => _items;

    /// <summary>The current raw vectors.</summary>
    public IEnumerable<double[]> Vectors => _items.Select(i => i.Raw);

    public bool Contains(string profileId) => _slots.ContainsKey(profileId);

    /// <summary>
    /// A profile's current vector. <paramref name="isNew"/>: the profile has not been offered before (it has just become
    /// eligible); only then may it enter. A profile already in the sample has its vector replaced. True when the sample's
    /// vectors changed: the profile entered, or its vector in the sample is not the one it had (NaN equal to NaN).
    /// </summary>
    public bool Offer(string profileId, double[] raw, bool isNew)
    {
        ArgumentNullException.ThrowIfNull(profileId);
        ArgumentNullException.ThrowIfNull(raw);
        if (_slots.TryGetValue(profileId, out var slot))
        {
            var changed = !_items[slot].Raw.AsSpan().SequenceEqual(raw);
            _state = null;
            _items[slot] = new SampledProfile(profileId, raw);
            return changed;
        }

        if (!isNew)
        {
            return false;
        }

        Seen++;
        _state = null;
        if (_items.Count < Capacity)
        {
            _slots[profileId] = _items.Count;
            _items.Add(new SampledProfile(profileId, raw));
            return true;
        }

        var j = ReservoirSample<SampledProfile>.UniformBelow(_seed, Seen);
        if (j < (ulong)Capacity)
        {
            _slots.Remove(_items[(int)j].ProfileId);
            _slots[profileId] = (int)j;
            _items[(int)j] = new SampledProfile(profileId, raw);
            return true;
        }

        return false;
    }

    /// <summary>Takes a profile out (erased, merged away, opted out).</summary>
    public void Remove(string profileId)
    {
        if (!_slots.Remove(profileId, out var slot))
        {
            return;
        }

        _state = null;

        // The last item fills the hole, so the list stays dense.
        var last = _items.Count - 1;
        if (slot != last)
        {
            _items[slot] = _items[last];
            _slots[_items[slot].ProfileId] = slot;
        }

        _items.RemoveAt(last);
    }

    /// <summary>A snapshot of the sample: the same object again while nothing has changed since the last one.</summary>
    public ProfileSampleState ToState() => _state ??= new(Seen, [.. _items]);

    /// <summary>True when <paramref name="state"/> is the snapshot <see cref="ToState"/> made and nothing has changed since.</summary>
    public bool Holds(ProfileSampleState state) => ReferenceEquals(_state, state);
}
