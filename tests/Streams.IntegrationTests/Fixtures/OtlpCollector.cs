using System.Globalization;
using System.Net;
using System.Text;

namespace Streams.IntegrationTests.Fixtures;

/// <summary>
/// A local OTLP/HTTP (protobuf) collector: accepts every export, counts them by path, keeps the number points of the last metrics export
/// and every span exported, decoded from the wire format by field number (opentelemetry-proto's metrics.proto and trace.proto),
/// without a protobuf library.
/// </summary>
public sealed class OtlpCollector : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly Lock gate = new();
    private IReadOnlyList<OtlpPoint> last = [];
    private readonly List<OtlpSpan> spans = [];

    public OtlpCollector(int port)
    {
        Endpoint = $"http://127.0.0.1:{port}";
        listener.Prefixes.Add(Endpoint + "/");
        listener.Start();
        _ = AcceptAsync();
    }

    public string Endpoint { get; }

    private readonly Dictionary<string, int> exports = new(StringComparer.Ordinal);

    /// <summary>Exports received on <paramref name="path"/> (<c>/v1/metrics</c>, <c>/v1/traces</c>, <c>/v1/logs</c>).</summary>
    public int Exports(string path)
    {
        lock (gate)
        {
            return exports.GetValueOrDefault(path);
        }
    }

    /// <summary>The number points (sums and gauges) of the last metrics export.</summary>
    public IReadOnlyList<OtlpPoint> LastMetrics
    {
        get
        {
            lock (gate)
            {
                return last;
            }
        }
    }

    /// <summary>Every span exported so far.</summary>
    public IReadOnlyList<OtlpSpan> Spans
    {
        get
        {
            lock (gate)
            {
                return [.. spans];
            }
        }
    }

    private async Task AcceptAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var path = context.Request.Url?.AbsolutePath ?? string.Empty;
            var points = path == "/v1/metrics" ? Metrics(body.ToArray()) : null;
            var traced = path == "/v1/traces" ? Traces(body.ToArray()) : [];
            lock (gate)
            {
                last = points ?? last;
                spans.AddRange(traced);
                exports[path] = exports.GetValueOrDefault(path) + 1;
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }

    // ExportMetricsServiceRequest{1: ResourceMetrics{2: ScopeMetrics{2: Metric{1: name, 5: Gauge, 7: Sum}}}};
    // Gauge and Sum {1: NumberDataPoint{7: KeyValue attributes, 4: as_double, 6: as_int}}.
    private static List<OtlpPoint> Metrics(byte[] request)
    {
        var points = new List<OtlpPoint>();
        foreach (var resource in Fields(request).Where(f => f.Number == 1))
        {
            foreach (var scope in Fields(resource.Bytes).Where(f => f.Number == 2))
            {
                foreach (var metric in Fields(scope.Bytes).Where(f => f.Number == 2))
                {
                    var fields = Fields(metric.Bytes);
                    var name = Encoding.UTF8.GetString(fields.First(f => f.Number == 1).Bytes);
                    foreach (var data in fields.Where(f => f.Number is 5 or 7))
                    {
                        foreach (var point in Fields(data.Bytes).Where(f => f.Number == 1))
                        {
                            points.Add(Point(name, point.Bytes));
                        }
                    }
                }
            }
        }

        return points;
    }

    // ExportTraceServiceRequest{1: ResourceSpans{2: ScopeSpans{2: Span{1: trace_id, 2: span_id, 5: name, 13: Link{1: trace_id, 2: span_id}}}}}.
    private static List<OtlpSpan> Traces(byte[] request) =>
        [.. from resource in Fields(request).Where(f => f.Number == 1)
            from scope in Fields(resource.Bytes).Where(f => f.Number == 2)
            from span in Fields(scope.Bytes).Where(f => f.Number == 2)
            let fields = Fields(span.Bytes)
            select new OtlpSpan(
                Convert.ToHexStringLower(fields.First(f => f.Number == 1).Bytes),
                Convert.ToHexStringLower(fields.First(f => f.Number == 2).Bytes),
                Encoding.UTF8.GetString(fields.FirstOrDefault(f => f.Number == 5).Bytes ?? []),
                [.. fields.Where(f => f.Number == 13).Select(l => Fields(l.Bytes)).Select(l => (
                    Convert.ToHexStringLower(l.First(f => f.Number == 1).Bytes), Convert.ToHexStringLower(l.First(f => f.Number == 2).Bytes)))])];

    private static OtlpPoint Point(string name, byte[] point)
    {
        var attributes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        double value = 0;
        foreach (var field in Fields(point))
        {
            switch (field.Number)
            {
                case 4:
                    value = BitConverter.Int64BitsToDouble((long)field.Value);
                    break;
                case 6:
                    value = (long)field.Value;
                    break;
                case 7:
                    var pair = Fields(field.Bytes);
                    var key = Encoding.UTF8.GetString(pair.First(f => f.Number == 1).Bytes);
                    // AnyValue{1: string_value, 3: int_value}; an empty string is no field at all.
                    attributes[key] = Fields(pair.First(f => f.Number == 2).Bytes) switch
                    {
                        [] => string.Empty,
                        [{ Number: 1 } text] => Encoding.UTF8.GetString(text.Bytes),
                        [{ Number: 3 } integer] => ((long)integer.Value).ToString(CultureInfo.InvariantCulture),
                        [var other, ..] => other.Value.ToString(CultureInfo.InvariantCulture),
                    };
                    break;
            }
        }

        return new OtlpPoint(name, attributes, value);
    }

    private static List<(int Number, ulong Value, byte[] Bytes)> Fields(byte[] message)
    {
        var fields = new List<(int, ulong, byte[])>();
        var position = 0;
        while (position < message.Length)
        {
            var tag = Varint(message, ref position);
            var number = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0:
                    fields.Add((number, Varint(message, ref position), []));
                    break;
                case 1:
                    fields.Add((number, BitConverter.ToUInt64(message, position), []));
                    position += 8;
                    break;
                case 2:
                    var length = (int)Varint(message, ref position);
                    fields.Add((number, 0, message[position..(position + length)]));
                    position += length;
                    break;
                case 5:
                    fields.Add((number, BitConverter.ToUInt32(message, position), []));
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {tag & 7} at {position}");
            }
        }

        return fields;
    }

    private static ulong Varint(byte[] message, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = message[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }

    public void Dispose() => listener.Close();
}

/// <summary>One number point of an OTLP metric: instrument name, attributes, value.</summary>
public sealed record OtlpPoint(string Name, IReadOnlyDictionary<string, string> Attributes, double Value);

/// <summary>One exported span: its ids (lower-case hex), name and the (trace id, span id) of each span it links to.</summary>
public sealed record OtlpSpan(string TraceId, string SpanId, string Name, IReadOnlyList<(string TraceId, string SpanId)> Links);
