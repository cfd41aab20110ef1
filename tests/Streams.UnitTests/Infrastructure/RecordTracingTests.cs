using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Streams.Infrastructure.Telemetry;

namespace Streams.UnitTests.Infrastructure;

// One class: the listener is process-wide for the source, and the tests of one class never run at once.
public sealed class RecordTracingTests
{
    private const string Sent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    [Fact]
    public void TryRead_TakesTheIdsAndFlagsOfAW3CTraceParent_AndNeverItsTraceState()
    {
        var headers = new Headers { { RecordTracing.TraceParentHeader, Encoding.ASCII.GetBytes(Sent) }, { "tracestate", "vendor=jane@example.com"u8.ToArray() } };

        Assert.True(RecordTracing.TryRead(headers, out var context));

        Assert.Equal("0af7651916cd43dd8448eb211c80319c", context.TraceId.ToHexString());
        Assert.Equal("b7ad6b7169203331", context.SpanId.ToHexString());
        Assert.Equal(ActivityTraceFlags.Recorded, context.TraceFlags);
        Assert.Null(context.TraceState);
        Assert.True(context.IsRemote);
    }

    public static TheoryData<byte[]?> NotTraceContext() =>
    [
        null,
        [],
        "{not a trace}"u8.ToArray(),
        "00-00000000000000000000000000000000-b7ad6b7169203331-01"u8.ToArray(),
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"u8.ToArray(),
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"u8.ToArray(),
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"u8.ToArray(),
        Encoding.UTF8.GetBytes("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0\u00e9"),
        [0xff, 0xfe, 0x00],
        Encoding.ASCII.GetBytes(Sent + "-" + new string('a', 1_000_000)),
    ];

    [Theory]
    [MemberData(nameof(NotTraceContext))]
    public void TryRead_IgnoresAnythingElse_WithoutThrowing(byte[]? value)
    {
        var headers = new Headers();
        if (value is not null)
        {
            headers.Add(RecordTracing.TraceParentHeader, value);
        }

        Assert.False(RecordTracing.TryRead(headers, out var context));
        Assert.Equal(default, context);
        Assert.False(RecordTracing.TryRead(null, out _));
    }

    [Fact]
    public void WithoutATracer_NoSpanIsStarted_AndNoHeaderWritten()
    {
        Assert.Null(RecordTracing.StartBatch("Ingest", [Record(Sent)]));
        Assert.Null(RecordTracing.CurrentTraceParent());
        Assert.Null(RecordTracing.With(null, RecordTracing.CurrentTraceParent()));
    }

    [Fact]
    public void BatchSpan_LinksEachDistinctProducerSpanUpToTheCap_AndItsTraceParentTravelsOnTheOutputs()
    {
        var stopped = new List<Activity>();
        using var listener = Listen(stopped);
        var senders = Enumerable.Range(0, RecordTracing.MaxLinks + 10).Select(_ => ActivityContext(ActivityTraceId.CreateRandom())).ToList();
        var batch = senders.Select(s => Record($"00-{s.TraceId.ToHexString()}-{s.SpanId.ToHexString()}-01"))
            .Prepend(Record(Sent)).Prepend(Record(Sent)).Prepend(Record(null)).Prepend(Record("garbage")).ToList();

        string? traceParent;
        using (var span = RecordTracing.StartBatch("Profiles", batch))
        {
            Assert.NotNull(span);
            Assert.Same(span, Activity.Current);
            traceParent = RecordTracing.CurrentTraceParent();
        }

        var recorded = Assert.Single(stopped);
        Assert.Equal("Profiles process", recorded.DisplayName);
        Assert.Equal(ActivityKind.Consumer, recorded.Kind);
        Assert.Equal(default, recorded.ParentSpanId);
        Assert.Equal(batch.Count, recorded.GetTagItem("messaging.batch.message_count"));
        var links = recorded.Links.Select(l => l.Context).ToList();
        Assert.Equal(RecordTracing.MaxLinks, links.Count);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", links[0].TraceId.ToHexString());
        Assert.Equal(senders.Take(RecordTracing.MaxLinks - 1).Select(s => s.SpanId), links.Skip(1).Select(l => l.SpanId));

        var output = RecordTracing.With(new Headers { { "streams-kind", "event"u8.ToArray() } }, traceParent);
        Assert.True(RecordTracing.TryRead(output, out var carried));
        Assert.Equal((recorded.TraceId, recorded.SpanId), (carried.TraceId, carried.SpanId));
        Assert.Equal(2, output!.Count);
    }

    private static ActivityContext ActivityContext(ActivityTraceId trace) => new(trace, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);

    private static ConsumeResult<byte[]?, byte[]?> Record(string? traceParent) => new()
    {
        Message = new Message<byte[]?, byte[]?>
        {
            Value = "{}"u8.ToArray(),
            Headers = traceParent is null ? [] : new Headers { { RecordTracing.TraceParentHeader, Encoding.ASCII.GetBytes(traceParent) } },
        },
    };

    private static ActivityListener Listen(List<Activity> stopped)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RecordTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Add,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}
