using System.Diagnostics;
using System.Text;
using Confluent.Kafka;

namespace Streams.Infrastructure.Telemetry;

/// <summary>
/// Traces that follow a record across the workers, the OpenTelemetry messaging way for batch consumers: each batch a
/// worker handles is one span (kind consumer) linked to the spans that produced its records, and every record it
/// writes, directly or through its outbox, carries that span's W3C <c>traceparent</c> header. Following the links from
/// a segment back through segmentation, profiles and ingest reaches the channel's own producer span when the channel
/// sent a <c>traceparent</c>. Nothing is recorded, and no header written, unless a tracer listens (OTLP configured).
/// </summary>
public static class RecordTracing
{
    /// <summary>The <see cref="ActivitySource"/> name the tracer provider subscribes to.</summary>
    public const string SourceName = "Streams.Records";

    /// <summary>The W3C trace context header (the same name in Kafka headers as in HTTP).</summary>
    public const string TraceParentHeader = "traceparent";

    /// <summary>
    /// The most links a batch span keeps: a batch of thousands of records, each from its own producer span, would make
    /// one span as large as the batch. Records beyond it are counted in <c>messaging.batch.message_count</c> only.
    /// </summary>
    public const int MaxLinks = 128;

    // Version 00 is 55 characters; later versions may append fields. A longer header is not trace context.
    private const int MaxTraceParentBytes = 256;

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// Starts the span of one batch <paramref name="worker"/> handles, linked to the producer span of each record that
    /// carries trace context (at most <see cref="MaxLinks"/>), and makes it current; null when no tracer listens.
    /// </summary>
    public static Activity? StartBatch(string worker, IReadOnlyList<ConsumeResult<byte[]?, byte[]?>> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return Enabled ? StartBatch(worker, batch.Count, batch.Select(Producer)) : null;
    }

    /// <summary>
    /// Starts the span of a batch of <paramref name="count"/> records whose producer spans are <paramref name="producers"/>
    /// (default for a record without one), without making it current: for a batch handled on more than one thread, each
    /// part of it inside <see cref="Enter"/>. Null when no tracer listens.
    /// </summary>
    public static Activity? StartDetached(string worker, int count, IEnumerable<ActivityContext> producers)
    {
        ArgumentNullException.ThrowIfNull(producers);
        if (!Enabled)
        {
            return null;
        }

        var current = Activity.Current;
        var span = StartBatch(worker, count, producers);
        Activity.Current = current;
        return span;
    }

    /// <summary>Makes <paramref name="span"/> current until the scope is disposed (tasks started meanwhile carry it along); nothing when null.</summary>
    public static Scope Enter(Activity? span)
    {
        var scope = new Scope(Activity.Current, span is not null);
        if (span is not null)
        {
            Activity.Current = span;
        }

        return scope;
    }

    /// <summary>True when a tracer listens: only then are records' headers read for trace context.</summary>
    public static bool Enabled => Source.HasListeners();

    /// <summary>The producer span <paramref name="record"/> names (see <see cref="TryRead"/>), or default.</summary>
    public static ActivityContext Producer(ConsumeResult<byte[]?, byte[]?> record) =>
        record?.Message is { } message && TryRead(message.Headers, out var context) ? context : default;

    private static Activity? StartBatch(string worker, int count, IEnumerable<ActivityContext> producers)
    {
        var links = new List<ActivityLink>();
        var seen = new HashSet<ActivityContext>();
        foreach (var context in producers)
        {
            if (links.Count == MaxLinks)
            {
                break;
            }

            if (context != default && seen.Add(context))
            {
                links.Add(new ActivityLink(context));
            }
        }

        var activity = Source.StartActivity(ActivityKind.Consumer, parentContext: default, links: links, name: $"{worker} process");
        activity?.SetTag("messaging.system", "kafka");
        activity?.SetTag("messaging.operation.type", "process");
        activity?.SetTag("messaging.batch.message_count", count);
        return activity;
    }

    /// <summary>The current span's <c>traceparent</c>, to keep with an outbox row until it is published; null when none.</summary>
    public static string? CurrentTraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>Adds <paramref name="traceParent"/> (from <see cref="CurrentTraceParent"/>) to <paramref name="headers"/>; nothing when null.</summary>
    public static Headers? With(Headers? headers, string? traceParent)
    {
        if (traceParent is null)
        {
            return headers;
        }

        headers ??= [];
        headers.Add(TraceParentHeader, Encoding.ASCII.GetBytes(traceParent));
        return headers;
    }

    /// <summary>
    /// The producer span context a record's <c>traceparent</c> header names. Only the trace and span ids and the flags
    /// are kept: a header is the sender's bytes, and <c>tracestate</c> (free text) never travels on from here.
    /// </summary>
    public static bool TryRead(Headers? headers, out ActivityContext context)
    {
        context = default;
        if (headers is null || !headers.TryGetLastBytes(TraceParentHeader, out var bytes) || bytes.Length > MaxTraceParentBytes
            || !Ascii.IsValid(bytes))
        {
            return false;
        }

        // The header's tracestate, if any, is not read: only the ids and flags are kept.
        return ActivityContext.TryParse(Encoding.ASCII.GetString(bytes), traceState: null, isRemote: true, out context);
    }

    /// <summary>What <see cref="Enter"/> made current, undone on dispose.</summary>
    public readonly struct Scope(Activity? previous, bool entered) : IDisposable
    {
        public void Dispose()
        {
            if (entered)
            {
                Activity.Current = previous;
            }
        }
    }
}
