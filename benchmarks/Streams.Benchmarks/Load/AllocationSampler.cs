using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Streams.Benchmarks.Load;

/// <summary>
/// What this process allocates, by type, from the runtime's allocation tick: the runtime raises it each time about
/// 100 KB more have been allocated on a heap, naming the type of the object that crossed the mark and the amount since
/// the last tick, so each type's share of the ticks' amounts estimates its share of all allocation (a sample, not a
/// count: a type of small objects allocated rarely may not appear). Types only, no stacks; the JIT-ed frames that
/// allocate are found with <c>perf</c> once the type is known.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const string RuntimeSource = "Microsoft-Windows-DotNETRuntime";
    private const long GcKeyword = 0x1;
    private const int AllocationTickEventId = 10;

    // Initialized before the base constructor, which may already report the runtime's source.
    private readonly ConcurrentDictionary<string, long> bytesByType = new(StringComparer.Ordinal);
    private volatile bool sampling;

    public void Start()
    {
        bytesByType.Clear();
        sampling = true;
    }

    /// <summary>Counts again after <see cref="Stop"/>, adding to what was counted before.</summary>
    public void Resume() => sampling = true;

    /// <summary>The <paramref name="top"/> types by sampled bytes, with the bytes all samples covered.</summary>
    public AllocationSample Stop(int top)
    {
        sampling = false;
        var all = bytesByType.ToArray();
        return new AllocationSample(all.Sum(t => t.Value),
            [.. all.OrderByDescending(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal).Take(top).Select(t => (t.Key, t.Value))]);
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        ArgumentNullException.ThrowIfNull(eventSource);
        if (eventSource.Name == RuntimeSource)
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        ArgumentNullException.ThrowIfNull(eventData);
        if (!sampling || eventData.EventId != AllocationTickEventId || eventData.Payload is not { } payload || eventData.PayloadNames is not { } names)
        {
            return;
        }

        var type = "(unnamed)";
        var amount = 0L;
        for (var i = 0; i < names.Count && i < payload.Count; i++)
        {
            switch (names[i])
            {
                case "TypeName" when payload[i] is string name && name.Length > 0:
                    type = name;
                    break;
                case "AllocationAmount64" when payload[i] is ulong bytes:
                    amount = (long)bytes;
                    break;
                case "AllocationAmount" when amount == 0 && payload[i] is uint bytes:
                    amount = bytes;
                    break;
            }
        }

        bytesByType.AddOrUpdate(type, amount, (_, sum) => sum + amount);
    }
}

/// <summary>The types that allocated most in a run, by sampled bytes, and the bytes all the samples covered.</summary>
internal sealed record AllocationSample(long SampledBytes, IReadOnlyList<(string Type, long Bytes)> Top);
